"""Agenda JSON API under /api/v1: my stars, star and unstar, merge a phone's stars, my changes.

For anyone signed in (401 problem+json otherwise). State-changing calls carry the CSRF token in
the ``X-CSRFToken`` header (signed-in pages have it in ``<meta name="csrf-token">``). Starring
and unstarring are idempotent: ``PUT`` twice is one star, ``DELETE`` twice is no star.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Blueprint
from flask_login import current_user
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from spectree import Response as SpecResponse

from companion import timeutil
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.agenda import queries, services
from companion.errors import Problem
from companion.extensions import api_spec, db
from companion.schedule.serving import session_or_404
from companion.schedule import queries as schedule_queries
from companion.schedule.models import CHANGE_KINDS
from companion.schedule.schemas import SessionOut, session_out

bp = Blueprint("agenda_api", __name__, url_prefix="/api/v1")

MAX_MERGE = 500
# "2026-04-07T09:00:00 02:00": a "+" that was not URL-encoded arrives as a space.
_SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class StarOut(BaseModel):
    """The session is starred (``added``: this call starred it; false if it was starred already)."""

    code: str
    starred: Literal[True]
    added: bool


class UnstarOut(BaseModel):
    """The session is not starred (``removed``: this call removed the star)."""

    code: str
    starred: Literal[False]
    removed: bool


class AgendaOut(BaseModel):
    """My starred sessions by start time: their codes, and the sessions as ``/api/v1/sessions`` gives them."""

    codes: list[str]
    sessions: list[SessionOut]


class MergeIn(BaseModel):
    """``POST /api/v1/agenda/merge``: the stars this phone kept while signed out."""

    model_config = ConfigDict(extra="forbid")

    codes: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=MAX_MERGE, description="session codes; unknown codes are ignored")


class MergeOut(BaseModel):
    """How many of the codes were new stars."""

    added: int


class ChangesQuery(BaseModel):
    """``GET /api/v1/agenda/changes``: changes after ``since``."""

    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime = Field(description="ISO 8601 with a UTC offset, e.g. 2026-04-07T09:00:00%2B02:00 "
                                             "(encode + as %2B) or 2026-04-07T07:00:00Z")

    @field_validator("since", mode="before")
    @classmethod
    def _plus_sent_as_space(cls, value: Any) -> Any:
        if isinstance(value, str) and (match := _SPACE_FOR_PLUS.match(value.strip())):
            return f"{match.group(1)}+{match.group(2)}"
        return value


class ChangeOut(BaseModel):
    """One change an import made to one of my starred sessions.

    ``time`` values are ``start/end`` in ISO 8601 (UTC); ``room`` and ``title`` the names;
    ``cancelled``/``restored`` the state; ``details`` names the fields that changed (``new``).
    """

    session: str = Field(description="session code")
    title: str = Field(description="the session's current title")
    kind: Literal[CHANGE_KINDS]  # type: ignore[valid-type]
    old: str | None
    new: str | None
    changed_at: datetime


class ChangesOut(BaseModel):
    """Changes to my starred sessions, oldest first."""

    changes: list[ChangeOut]


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001



@bp.get("/agenda")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=AgendaOut, HTTP_401=None), tags=["agenda"])
def my_agenda() -> AgendaOut:
    """My starred sessions, by start time."""
    sessions = queries.starred_sessions(_me())
    zone = schedule_queries.conference_zone(schedule_queries.get_conference())
    return AgendaOut(codes=[s.code for s in sessions], sessions=[session_out(s, zone) for s in sessions])


@bp.put("/agenda/<code>")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=StarOut, HTTP_400=None, HTTP_401=None, HTTP_404=None), tags=["agenda"])
def star(code: str) -> StarOut:
    """Star a session; starring it again changes nothing (``added`` is false)."""
    session = session_or_404(code)
    added = services.star(_me(), session, now=timeutil.now())
    db.session.commit()
    return StarOut(code=session.code, starred=True, added=added)


@bp.delete("/agenda/<code>")
@signed_in_required
@api_spec.validate(resp=SpecResponse(HTTP_200=UnstarOut, HTTP_400=None, HTTP_401=None, HTTP_404=None), tags=["agenda"])
def unstar(code: str) -> UnstarOut:
    """Remove the star; removing a star that is not there is fine (``removed`` is false)."""
    session = session_or_404(code)
    removed = services.unstar(_me(), session)
    db.session.commit()
    return UnstarOut(code=session.code, starred=False, removed=removed)


@bp.post("/agenda/merge")
@signed_in_required
@api_spec.validate(json=MergeIn, resp=SpecResponse(HTTP_200=MergeOut, HTTP_400=None, HTTP_401=None), tags=["agenda"])
def merge(json: MergeIn) -> MergeOut:
    """Add the stars a phone kept while signed out to my account; unknown codes are ignored."""
    added = services.merge_device_stars(_me(), json.codes, now=timeutil.now())
    db.session.commit()
    return MergeOut(added=added)


@bp.get("/agenda/changes")
@signed_in_required
@api_spec.validate(query=ChangesQuery, resp=SpecResponse(HTTP_200=ChangesOut, HTTP_400=None, HTTP_401=None),
                   tags=["agenda"])
def changes(query: ChangesQuery) -> ChangesOut:
    """Changes to my starred sessions made after ``since`` (and after I starred them), oldest first.

    ``since`` is required and must carry a UTC offset: a time without one means nothing until a
    zone is given, so it is refused with 400.
    """
    try:
        since = timeutil.as_utc(query.since)
    except OverflowError as exc:  # an offset that pushes year 1 or 9999 off the calendar
        raise Problem(400, "since: the time is out of range; give a time such as 2026-04-07T09:00:00+02:00.",
                      errors=[{"loc": "since", "msg": "out of range"}]) from exc
    found = queries.changes_since(_me(), since)
    return ChangesOut(changes=[
        ChangeOut(session=session.code, title=session.title, kind=change.kind, old=change.old_value,
                  new=change.new_value, changed_at=change.changed_at)
        for change, session in found
    ])
