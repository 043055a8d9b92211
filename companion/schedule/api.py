"""Schedule JSON API under /api/v1.

The whole-schedule document is rendered once per schedule version and served from memory with a
strong ETag, pre-gzipped: answering it costs about as much as answering a health check.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from spectree import Response as SpecResponse

from companion.errors import Problem
from companion.extensions import api_spec, db
from companion.schedule import cache, queries
from companion.schedule.models import Room, Session, Track
from companion.schedule.schemas import (
    ScheduleDocument,
    SessionList,
    SessionOut,
    SessionQuery,
    SpeakerOut,
    schedule_document,
    session_out,
    speaker_out,
)
from companion.schedule.serving import cached_response, session_or_404
from companion.schedule.days import day_range_utc
from companion.schedule.exporters import no_schedule
from companion.schedule.listing import matches_query

bp = Blueprint("schedule_api", __name__, url_prefix="/api/v1")

API_MAX_AGE = 60


def render_schedule_document() -> bytes:
    """The whole schedule as JSON bytes (rendered on a cache miss only)."""
    conference = queries.get_conference()
    if conference is None:
        raise no_schedule()
    document = schedule_document(conference, queries.all_rooms(), queries.all_tracks(), queries.all_speakers(), queries.all_sessions())
    return document.model_dump_json().encode()


@bp.get("/schedule")
@api_spec.validate(resp=SpecResponse(HTTP_200=ScheduleDocument, HTTP_304=None, HTTP_404=None), skip_validation=True, tags=["schedule"])
def schedule() -> Response:
    """The whole schedule: conference (with its time zone), rooms, tracks, speakers and sessions.

    Supports ``If-None-Match`` (304) and gzip; the ETag changes whenever an import changes anything.
    """
    version = cache.current_version(queries.schedule_version, float(current_app.config["SCHEDULE_CACHE_SECONDS"]))
    if not version:
        raise no_schedule()
    entry = cache.get_or_render("api-schedule", version, "application/json", render_schedule_document)
    return cached_response(entry, max_age=API_MAX_AGE)


def _id_by_code(model: type[Room] | type[Track], name: str, code: str) -> int:
    """The id of the room or track whose code (slug) is ``code``, for the query parameter ``name``.

    :raise Problem: 400 naming the parameter, if there is none.
    """
    found = db.session.scalar(select(model.id).where(model.slug == code))
    if found is None:
        raise Problem(400, f"{name}: there is no {name} with code {code!r}; GET /api/v1/schedule lists the {name}s.",
                      errors=[{"loc": name, "msg": f"unknown {name} code"}])
    return found


@bp.get("/sessions")
@api_spec.validate(query=SessionQuery, resp=SpecResponse(HTTP_200=SessionList, HTTP_400=None), tags=["schedule"])
def sessions(query: SessionQuery) -> SessionList:
    """Sessions filtered by day, room, track, state and text, ordered by start time.

    Unknown parameters, malformed dates and unknown room or track codes are answered with 400.
    """
    conference = queries.get_conference()
    if conference is None:
        raise no_schedule()
    zone = queries.conference_zone(conference)
    statement = select(Session).options(selectinload(Session.speaker_links)).order_by(*queries.SESSION_ORDER)
    if query.day is not None:
        try:
            start, end = day_range_utc(query.day, zone)
        except ValueError as exc:
            raise Problem(400, f"day: {exc}; give a conference day such as {conference.start_date}.",
                          errors=[{"loc": "day", "msg": "out of range"}]) from exc
        statement = statement.where(Session.starts_at >= start, Session.starts_at < end)
    if query.room is not None:
        statement = statement.where(Session.room_id == _id_by_code(Room, "room", query.room))
    if query.track is not None:
        statement = statement.where(Session.track_id == _id_by_code(Track, "track", query.track))
    if query.state is not None:
        statement = statement.where(Session.state == query.state)
    found = db.session.scalars(statement).all()
    if query.q is not None:
        # The same search as the schedule page: every word, any case, in title, abstract or speakers.
        found = [s for s in found if matches_query(s, query.q)]
    return SessionList(sessions=[session_out(s, zone) for s in found])


@bp.get("/sessions/<code>")
@api_spec.validate(resp=SpecResponse(HTTP_200=SessionOut, HTTP_404=None), tags=["schedule"])
def session(code: str) -> SessionOut:
    """One session by its code."""
    found = session_or_404(code)
    return session_out(found, queries.conference_zone(queries.get_conference()))


@bp.get("/speakers/<code>")
@api_spec.validate(resp=SpecResponse(HTTP_200=SpeakerOut, HTTP_404=None), tags=["schedule"])
def speaker(code: str) -> SpeakerOut:
    """One speaker by their code, with the codes of their sessions."""
    found = queries.speaker_by_code(code)
    if found is None:
        raise Problem(404, f"There is no speaker with code {code!r}. Codes are case-sensitive; see GET /api/v1/schedule.")
    return speaker_out(found)
