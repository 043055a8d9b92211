"""Staff voting pages: the window, the live tally, reveal and tie-break, posters, exports, labels,
the results screen, and the audit log.

``/staff/voting`` holds the window (open now, close now, or set times; who may vote) and, per
category, the live tally (counts, shares, a bar chart; ties shown as ties) with the reveal switch
and, while posters are tied first, the tie-break form. Every staff action is audited. Exports: the
results CSV and the anonymised ballots CSV, whose SHA-256 is shown beside it and recorded.
"""

from __future__ import annotations

import io
import random
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from companion import timeutil
from companion.accounts import audit
from companion.accounts.access import staff_required
from companion.accounts.forms import strip_whitespace
from companion.accounts.models import User
from companion.accounts.services import record
from companion.downloads import csv_document, csv_download
from companion.extensions import db
from companion.hunt.charts import data_uri
from companion.schedule import queries as schedule_queries
from companion.sessions import not_stored
from companion.staff import links
from companion.urls import external_url
from companion.voting import charts, importing, labels, queries, services
from companion.voting.models import VoteCategory

bp = Blueprint("voting_staff", __name__, url_prefix="/staff/voting")

links.register("Poster voting", "voting_staff.overview", roles=("staff",),
               description="Posters and their QR labels, the voting window, the live tally, reveal and tie-break, "
                           "exports and the results screen.")

UPLOAD_MAX = 2 * 1024 * 1024


class StepForm(FlaskForm):
    """A button: the CSRF token and what it is about."""

    category = HiddenField()
    shown = HiddenField()


class WindowForm(FlaskForm):
    opens_at = StringField("Opens (conference time)", filters=[strip_whitespace])
    closes_at = StringField("Closes (conference time)", filters=[strip_whitespace])
    voters = HiddenField()


class TieForm(FlaskForm):
    category = HiddenField()
    poster = HiddenField()
    reason = StringField("How the tie was broken", filters=[strip_whitespace])


class PosterForm(FlaskForm):
    board = StringField("Board", filters=[strip_whitespace])
    title = StringField("Title", filters=[strip_whitespace])
    authors = StringField("Authors", filters=[strip_whitespace])
    abstract = TextAreaField("Abstract (optional)")
    categories = StringField("Categories (separated by ;)", default="Best poster", filters=[strip_whitespace])


def _zone() -> ZoneInfo:
    return schedule_queries.conference_zone(schedule_queries.get_conference())


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _checked(form: FlaskForm) -> None:
    form.validate_on_submit()
    if form.csrf_token.errors:
        abort(400, "The form expired. Open the page again.")


def _category(code: str | None) -> VoteCategory:
    category = queries.category_by_code(code or "")
    if category is None:
        abort(404, "There is no such voting category.")
    return category


def _local(text: str | None, zone: ZoneInfo, loc: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise services.VotingError("field", "Write the time as YYYY-MM-DD HH:MM.", loc=loc) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


# --- the overview: window and tally ---------------------------------------------------------


def _overview(*, error: services.VotingError | None = None, status: int = 200,
              window_form: WindowForm | None = None) -> Response:
    zone, now = _zone(), timeutil.now()
    window = services.window()
    if window_form is None:
        window_form = WindowForm(formdata=None)
        window_form.opens_at.data = window.opens_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if window.opens_at else ""
        window_form.closes_at.data = window.closes_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if window.closes_at else ""
    tallies = [queries.tally(c) for c in queries.categories()]
    _, digest = queries.ballots_csv()
    html = render_template(
        "voting/staff.html", window=window, open=services.is_open(window, now), zone=zone, tallies=tallies,
        charts={t.category.id: (data_uri(charts.tally_chart(t)), charts.tally_height(t), charts.tally_description(t))
                for t in tallies},
        chart_width=charts.WIDTH, step=StepForm(formdata=None), window_form=window_form,
        tie_form=TieForm(formdata=None), error=error, errors={error.loc: str(error)} if error and error.loc else {},
        ballots_sha256=digest, poster_count=len(queries.posters()))
    return not_stored((html, status))


@bp.get("")
@staff_required
def overview() -> ResponseReturnValue:
    """The window, and each category's live tally (static/js/voting-tally.js refreshes the numbers)."""
    return _overview()


@bp.post("/window")
@staff_required
def set_window() -> ResponseReturnValue:
    """Set the opening and closing times and who may vote (audited)."""
    form = WindowForm()
    _checked(form)
    zone = _zone()
    try:
        services.set_window(_local(form.opens_at.data, zone, "opens_at"), _local(form.closes_at.data, zone, "closes_at"),
                            request.form.get("voters", ""), actor=_me(), now=timeutil.now())
    except services.VotingError as exc:
        db.session.rollback()
        return _overview(error=exc, status=400, window_form=form)
    db.session.commit()
    flash("The voting window is saved.")
    return redirect(url_for(".overview"), 303)


@bp.post("/open")
@staff_required
def open_now() -> ResponseReturnValue:
    """Open voting now (audited)."""
    _checked(StepForm())
    services.open_now(actor=_me(), now=timeutil.now())
    db.session.commit()
    flash("Voting is open.")
    return redirect(url_for(".overview"), 303)


@bp.post("/close")
@staff_required
def close_now() -> ResponseReturnValue:
    """Close voting now (audited); later votes are refused with the closing time."""
    _checked(StepForm())
    try:
        services.close_now(actor=_me(), now=timeutil.now())
    except services.VotingError as exc:
        db.session.rollback()
        return _overview(error=exc, status=409)
    db.session.commit()
    flash("Voting is closed.")
    return redirect(url_for(".overview"), 303)


@bp.post("/reveal")
@staff_required
def reveal() -> ResponseReturnValue:
    """Show a category's results to attendees, or hide them again (audited)."""
    form = StepForm()
    _checked(form)
    category = _category(form.category.data)
    services.reveal(category, form.shown.data == "yes", actor=_me(), now=timeutil.now())
    db.session.commit()
    flash(f"{category.name}: results {'shown to everyone' if form.shown.data == 'yes' else 'hidden'}.")
    return redirect(url_for(".overview"), 303)


@bp.post("/tie-break")
@staff_required
def tie_break() -> ResponseReturnValue:
    """Record which of the posters tied first wins, and why (audited)."""
    form = TieForm()
    _checked(form)
    category = _category(form.category.data)
    poster = queries.poster_by_code(form.poster.data or "")
    try:
        if poster is None:
            raise services.VotingError("tie", "Choose one of the tied posters.", loc="poster")
        services.break_tie(category, poster, form.reason.data or "", tied=queries.tally(category).tied_first,
                           actor=_me(), now=timeutil.now())
    except services.VotingError as exc:
        db.session.rollback()
        return _overview(error=exc, status=422)
    db.session.commit()
    flash(f"{category.name}: the tie is broken for {poster.board}.")
    return redirect(url_for(".overview"), 303)


# --- exports and labels ---------------------------------------------------------------------


@bp.get("/results.csv")
@staff_required
def results_csv() -> ResponseReturnValue:
    """Per category and poster: rank (ties share one), board, title, votes, share, tie-break winner."""
    rows = []
    for category in queries.categories():
        tally = queries.tally(category)
        for row in tally.rows:
            chosen = tally.tie_break is not None and tally.tie_break.poster_id == row.poster.id
            rows.append((category.code, row.rank, row.poster.board, row.poster.code, row.poster.title, row.votes,
                         f"{row.percent:.1f}", "yes" if chosen else ""))
    body = csv_document(("category", "rank", "board", "poster", "title", "votes", "percent", "tie_break_winner"), rows)
    return csv_download(body, "poster-results.csv")


@bp.get("/ballots.csv")
@staff_required
def ballots_csv() -> ResponseReturnValue:
    """The anonymised ballots; the file's SHA-256 is in ``X-Content-SHA256`` and recorded in the audit log."""
    body, digest = queries.ballots_csv()
    record(_me(), "voting.export_ballots", None, now=timeutil.now(), sha256=digest)
    db.session.commit()
    response = csv_download(body, "poster-ballots.csv")
    response.headers["X-Content-SHA256"] = digest
    return response


@bp.get("/labels.pdf")
@staff_required
def labels_pdf() -> ResponseReturnValue:
    """The QR labels for the boards, one per poster, each opening the poster's page."""
    out = io.BytesIO()
    conference = schedule_queries.get_conference()
    labels.render_labels(labels.poster_labels(queries.posters(), lambda p: external_url("voting.poster", code=p.code)),
                         out, title=conference.title if conference else "Posters",
                         page=request.args.get("page", "a4") if request.args.get("page") in ("a4", "letter") else "a4")
    response = not_stored(out.getvalue())
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = 'inline; filename="poster-labels.pdf"'
    return response


# --- posters ---------------------------------------------------------------------------------


def _fields(form: PosterForm) -> services.PosterFields:
    return services.PosterFields(form.board.data or "", form.title.data or "", form.authors.data or "",
                                 form.abstract.data, tuple((form.categories.data or "").split(";")))


def _posters_page(form: PosterForm | None = None, error: services.VotingError | None = None,
                  status: int = 200) -> Response:
    html = render_template("voting/staff_posters.html", posters=queries.posters(), form=form or PosterForm(formdata=None),
                           step=StepForm(formdata=None), error=error,
                           errors={error.loc: str(error)} if error and error.loc else {})
    return not_stored((html, status))


@bp.get("/posters")
@staff_required
def posters() -> ResponseReturnValue:
    """The posters by board, the form for a new one, the CSV import."""
    return _posters_page()


@bp.post("/posters")
@staff_required
def add_poster() -> ResponseReturnValue:
    """Add a poster (audited)."""
    form = PosterForm()
    _checked(form)
    try:
        poster = services.add_poster(_fields(form), now=timeutil.now(), rng=random.SystemRandom())
    except services.VotingError as exc:
        db.session.rollback()
        return _posters_page(form, exc, 400)
    record(_me(), "voting.poster_add", poster.code, now=timeutil.now(), board=poster.board, title=poster.title)
    db.session.commit()
    flash(f"Poster {poster.board} added.")
    return redirect(url_for(".posters"), 303)


@bp.get("/posters/<code>")
@staff_required
def edit_poster(code: str) -> ResponseReturnValue:
    """A poster's form."""
    poster = queries.poster_by_code(code) or abort(404, "There is no poster with this code.")
    form = PosterForm(formdata=None, obj=poster)
    form.categories.data = "; ".join(c.name for c in poster.categories)
    return not_stored(render_template("voting/staff_poster.html", poster=poster, form=form, errors={}))


@bp.post("/posters/<code>")
@staff_required
def update_poster(code: str) -> ResponseReturnValue:
    """Change a poster (audited)."""
    poster = queries.poster_by_code(code) or abort(404, "There is no poster with this code.")
    form = PosterForm()
    _checked(form)
    try:
        services.update_poster(poster, _fields(form), now=timeutil.now())
    except services.VotingError as exc:
        db.session.rollback()
        poster = queries.poster_by_code(code)
        return not_stored((render_template("voting/staff_poster.html", poster=poster, form=form, error=exc,
                                           errors={exc.loc: str(exc)} if exc.loc else {}), 400))
    record(_me(), "voting.poster_update", poster.code, now=timeutil.now(), board=poster.board, title=poster.title)
    db.session.commit()
    flash(f"Poster {poster.board} saved.")
    return redirect(url_for(".posters"), 303)


@bp.post("/posters/import")
@staff_required
def import_posters() -> ResponseReturnValue:
    """Add or update posters from a CSV: every row checked first, all or nothing (audited)."""
    _checked(StepForm())
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise services.VotingError("file", "Choose a CSV file of posters.", loc="file")
        data = upload.stream.read(UPLOAD_MAX + 1)
        if len(data) > UPLOAD_MAX:
            raise services.VotingError("file", "The file is over 2 MB.", loc="file")
        report = importing.apply(importing.parse(data), now=timeutil.now(), rng=random.SystemRandom())
    except services.VotingError as exc:
        db.session.rollback()
        return _posters_page(error=exc, status=400)
    record(_me(), "voting.poster_import", None, now=timeutil.now(), added=report.added, updated=report.updated)
    db.session.commit()
    flash(f"Posters imported: {report.summary()}.")
    return redirect(url_for(".posters"), 303)


# --- the results screen and the log ----------------------------------------------------------


@bp.get("/screen/<category>")
@staff_required
def screen(category: str) -> ResponseReturnValue:
    """Full-screen results for the keynote: the top three of a category, revealed one by one
    (third, second, first) with the space bar or a click; ``?shown=N`` without JavaScript."""
    found = _category(category)
    tally = queries.tally(found)
    podium = [r for r in tally.rows if r.votes][:3]
    try:
        shown = max(0, min(len(podium), int(request.args.get("shown", "0"))))
    except ValueError:
        shown = 0
    return not_stored(render_template("voting/screen.html", category=found, tally=tally, podium=podium, shown=shown))


@bp.get("/log")
@staff_required
def log() -> ResponseReturnValue:
    """Every voting action: when, who, what (``?format=csv`` to download)."""
    events = audit.trail("voting.")
    if request.args.get("format") == "csv":
        return csv_download(csv_document(audit.CSV_HEADER, audit.csv_rows(events)), "voting-log.csv")
    return not_stored(render_template("voting/log.html", events=events, zone=_zone()))
