"""Reads of schedule data used by pages, the API and the exporters."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from companion.extensions import db
from companion.schedule.models import Conference, Room, Session, SessionSpeaker, Speaker, Track


# Start, room, title, then id: a total order, so every worker renders the same bytes (same ETag).
SESSION_ORDER = (Session.starts_at, Session.room_id, Session.title, Session.id)


def get_conference() -> Conference | None:
    """The conference, or None before the first import."""
    return db.session.scalars(select(Conference).limit(1)).first()


def conference_zone(conference: Conference | None) -> ZoneInfo:
    """The conference's time zone (UTC before any import)."""
    return ZoneInfo(conference.timezone if conference else "UTC")


def schedule_version() -> str:
    """What caches of the schedule are keyed by: ``""`` before the first import.

    The version counter and the time of the last change together: a database recreated from
    scratch starts counting at 1 again, but never at the same moment.
    """
    row = db.session.execute(select(Conference.schedule_version, Conference.updated_at).limit(1)).first()
    return f"{row.schedule_version}@{row.updated_at.isoformat()}" if row else ""


def all_rooms() -> Sequence[Room]:
    """Rooms in the order the schedule gives them."""
    return db.session.scalars(select(Room).order_by(Room.position, Room.name)).all()


def all_tracks() -> Sequence[Track]:
    """Tracks by name."""
    return db.session.scalars(select(Track).order_by(Track.name)).all()


def all_speakers() -> Sequence[Speaker]:
    """Speakers by name, with their sessions loaded."""
    return db.session.scalars(
        select(Speaker).options(selectinload(Speaker.session_links).selectinload(SessionSpeaker.session)).order_by(Speaker.name, Speaker.id)
    ).all()


def all_sessions(include_cancelled: bool = True) -> Sequence[Session]:
    """Every session by start time then room, with room, track and speakers loaded in 3 queries."""
    query = (
        select(Session)
        .options(selectinload(Session.speaker_links))
        .order_by(*SESSION_ORDER)
    )
    if not include_cancelled:
        query = query.where(Session.state == "confirmed")
    return db.session.scalars(query).unique().all()


def session_by_code(code: str) -> Session | None:
    """The session with public ``code``, or None."""
    return db.session.scalars(
        select(Session).options(selectinload(Session.speaker_links)).where(Session.code == code)
    ).first()


def speaker_by_code(code: str) -> Speaker | None:
    """The speaker with public ``code`` (their sessions loaded), or None."""
    return db.session.scalars(
        select(Speaker).options(selectinload(Speaker.session_links).selectinload(SessionSpeaker.session)).where(Speaker.code == code)
    ).first()


def room_by_slug(slug: str) -> Room | None:
    """The room with URL ``slug``, or None."""
    return db.session.scalars(select(Room).where(Room.slug == slug)).first()


def sessions_in_room(room: Room) -> Sequence[Session]:
    """The room's sessions by start time."""
    return db.session.scalars(
        select(Session).options(selectinload(Session.speaker_links)).where(Session.room_id == room.id).order_by(Session.starts_at)
    ).all()
