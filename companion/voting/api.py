"""Voting JSON API under /api/v1: the posters, my votes, and casting one.

- ``GET /api/v1/posters``: every poster with its categories (public);
- ``GET /api/v1/votes``: my vote in each category, and whether voting is open;
- ``PUT /api/v1/votes/<category code>`` with ``{"poster": "<poster code>"}``: vote, or move my vote
  (200 either way: the same ballot). Refusals are problem+json, ``errors[0].reason`` one of
  ``not_open``, ``closed``, ``not_allowed``, ``not_checked_in``, ``category``; an unknown poster or
  category is a 404; over 60 votes a minute per person, 429. The CSRF token goes in ``X-CSRFToken``.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response as SpecResponse

from companion import timeutil
from companion.accounts import my_data
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.errors import Problem
from companion.extensions import api_spec, db
from companion.schedule import queries as schedule_queries
from companion.voting import queries, services
from companion.voting.limits import vote_rate_limit
from companion.voting.my_data import export_votes

bp = Blueprint("voting_api", __name__, url_prefix="/api/v1")
my_data.register_exporter("poster_votes", export_votes)


class VoteIn(BaseModel):
    """The poster I vote for, by the code on its board's QR."""

    model_config = ConfigDict(extra="forbid")

    poster: str = Field(min_length=1, max_length=32)


class VoteOut(BaseModel):
    """My ballot in a category after the vote."""

    category: str
    poster: str
    board: str
    title: str
    counted: bool = Field(description="false for a staff account: kept, not counted")
    message: str


class MyVotesOut(BaseModel):
    open: bool
    votes: dict[str, str] = Field(description="category code -> poster code")


class PosterOut(BaseModel):
    code: str
    board: str
    title: str
    authors: str
    categories: list[str]


class PostersOut(BaseModel):
    posters: list[PosterOut]


def _zone():  # noqa: ANN202 - ZoneInfo; asked for only to word a refusal
    return schedule_queries.conference_zone(schedule_queries.get_conference())


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


@bp.get("/posters")
@api_spec.validate(resp=SpecResponse(HTTP_200=PostersOut), tags=["voting"])
def posters() -> PostersOut:
    """Every poster by board, with the codes of its categories."""
    return PostersOut(posters=[PosterOut(code=p.code, board=p.board, title=p.title, authors=p.authors,
                                         categories=[c.code for c in p.categories]) for p in queries.posters()])


@bp.get("/votes")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=MyVotesOut, HTTP_401=None), tags=["voting"])
def my_votes() -> MyVotesOut:
    """My vote in each category (poster codes), and whether voting is open now."""
    names = {c.id: c.code for c in queries.categories()}
    codes = {p.id: p.code for p in queries.posters()}
    return MyVotesOut(open=services.is_open(services.window(), timeutil.now()),
                      votes={names[c]: codes[p] for c, p in queries.my_ballots(_me().id).items() if c in names and p in codes})


@bp.put("/votes/<category>")
@signed_in_required
@vote_rate_limit
@api_spec.validate(json=VoteIn, resp=SpecResponse(HTTP_200=VoteOut, HTTP_400=None, HTTP_401=None, HTTP_404=None,
                                                  HTTP_422=None, HTTP_429=None), tags=["voting"])
def vote(category: str, json: VoteIn) -> VoteOut:
    """Vote for a poster in a category, or move my vote to it (one ballot per category)."""
    try:
        result = services.cast_vote(_me(), json.poster, category, now=timeutil.now(), zone=_zone)
    except services.UnknownTarget as exc:
        db.session.rollback()
        raise Problem(404, str(exc), errors=[{"loc": exc.loc, "msg": "unknown"}]) from exc
    except services.VotingError as exc:
        db.session.rollback()
        raise Problem(422, str(exc), errors=[{"loc": exc.loc or "poster", "msg": str(exc), "reason": exc.reason}]) from exc
    out = VoteOut(category=result.category_code, poster=result.poster_code, board=result.board, title=result.title,
                  counted=result.counted, message=services.vote_message(result))
    db.session.commit()
    return out
