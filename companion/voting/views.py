"""Attendee poster pages: the posters by category, a poster's page (what its board's QR opens) with
the vote button, and my votes. Counts are never shown until staff reveal a category's results.

Voting is a form POST (works without JavaScript): one ballot per category, moved by voting again.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from companion import timeutil
from companion.accounts.access import signed_in_required
from companion.extensions import db
from companion.schedule import queries as schedule_queries
from companion.voting import queries, services
from companion.voting.limits import vote_rate_limit
from companion.voting.models import Poster

bp = Blueprint("voting", __name__)



class VoteForm(FlaskForm):
    """The "Vote for this poster" button of one category."""

    category = HiddenField()


def _zone():  # noqa: ANN202 - ZoneInfo
    return schedule_queries.conference_zone(schedule_queries.get_conference())


def _private(body: ResponseReturnValue) -> Response:
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _poster(code: str) -> Poster:
    poster = queries.poster_by_code(code)
    if poster is None:
        abort(404, "There is no poster with this code. Check the code on the board, or find it in the list.")
    return poster


@bp.get("/posters")
def index() -> ResponseReturnValue:
    """Every poster by category and board; my votes marked when signed in."""
    mine = queries.my_ballots(current_user.id) if current_user.is_authenticated else {}
    window = services.window()
    html = render_template("voting/index.html", categories=queries.categories(), posters_in=queries.posters,
                           mine=mine, window=window, open=services.is_open(window, timeutil.now()), zone=_zone(),
                           window_sentence=services.window_text(window, timeutil.now(), _zone()),
                           tallies={c.id: queries.tally(c) for c in queries.categories() if c.revealed_at})
    return _private(html)


def _poster_page(poster: Poster, *, error: str | None = None, status: int = 200) -> Response:
    mine = queries.my_ballots(current_user.id) if current_user.is_authenticated else {}
    window = services.window()
    voted_for = {c.id: db.session.get(Poster, mine[c.id]) for c in poster.categories if c.id in mine}
    html = render_template("voting/poster.html", poster=poster, mine=mine, voted_for=voted_for, window=window,
                           open=services.is_open(window, timeutil.now()), zone=_zone(), form=VoteForm(formdata=None),
                           window_sentence=services.window_text(window, timeutil.now(), _zone()),
                           error=error)
    return _private((html, status))


@bp.get("/posters/<code>")
def poster(code: str) -> ResponseReturnValue:
    """A poster's page: title, authors, abstract, and a vote button per category (or my vote)."""
    return _poster_page(_poster(code))


@bp.post("/posters/<code>/vote")
@signed_in_required
@vote_rate_limit
def vote(code: str) -> ResponseReturnValue:
    """Vote for this poster in a category (or move my vote here); the page again with the answer."""
    found = _poster(code)
    form = VoteForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the poster again.")
    category = queries.category_by_code(form.category.data or "")
    if category is None:
        return _poster_page(found, error="Choose one of the poster's categories.", status=422)
    try:
        result = services.cast_vote(current_user._get_current_object(), found.code, category.code,  # noqa: SLF001
                                    now=timeutil.now(), zone=_zone())
    except services.VotingError as exc:
        db.session.rollback()
        return _poster_page(found, error=str(exc), status=422)
    message = services.vote_message(result)
    db.session.commit()
    flash(message)
    return redirect(url_for(".poster", code=found.code), 303)
