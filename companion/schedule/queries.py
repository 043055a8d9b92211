"""Reads of schedule data used by pages, the API and the exporters."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from companion.extensions import db
from companion.schedule.models import Conference, Room, Session, SessionSpeaker, Speaker, Track
from companion.schedule.records import SESSION_COLUMNS, SPEAKER_COLUMNS, SessionRecord, SpeakerRecord


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


def export_sessions(rooms: Sequence[Room], tracks: Sequence[Track]) -> list[SessionRecord]:
    """Every session, cancelled included, as read-only records in :data:`SESSION_ORDER`, in 2 queries.

    :param rooms: every room (as :func:`all_rooms` gives them): the records point at these.
    :param tracks: every track (as :func:`all_tracks` gives them).
    """
    room_by_id = {room.id: room for room in rooms}
    track_by_id = {track.id: track for track in tracks}
    session_table, speaker_table = Session.__table__, Speaker.__table__
    rows = db.session.execute(
        select(*(session_table.c[name] for name in SESSION_COLUMNS), Session.room_id, Session.track_id)
        .order_by(*SESSION_ORDER)
    ).all()
    # Each link with its speaker in the same row: an import committing between the two queries
    # can make a record miss a change, never point at a speaker that was not read.
    billing: dict[int, list[SpeakerRecord]] = {}
    links = (
        select(SessionSpeaker.session_id, *(speaker_table.c[name] for name in SPEAKER_COLUMNS))
        .join(Speaker, Speaker.id == SessionSpeaker.speaker_id)
        .order_by(SessionSpeaker.session_id, SessionSpeaker.position, SessionSpeaker.speaker_id)
    )
    for session_id, *speaker in db.session.execute(links):
        billing.setdefault(session_id, []).append(SpeakerRecord(*speaker))
    width = len(SESSION_COLUMNS)
    return [
        SessionRecord(*row[:width], room=room_by_id.get(row[width]), track=track_by_id.get(row[width + 1]),
                      speakers=tuple(billing.get(row.id, ())))
        for row in rows
    ]


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
