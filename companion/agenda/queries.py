"""Reads of agenda data used by the pages, the API, the CLI and the data download."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from companion.accounts.models import User
from companion.agenda.models import AgendaShare, CalendarFeed, Favourite, WalkingTime
from companion.extensions import db
from companion.schedule.models import Room, Session, SessionChange
from companion.schedule.queries import SESSION_ORDER


def starred_sessions(user: User) -> Sequence[Session]:
    """The sessions ``user`` starred, by start time (room, track and speakers loaded)."""
    return db.session.scalars(
        select(Session).join(Favourite, Favourite.session_id == Session.id).where(Favourite.user_id == user.id)
        .options(selectinload(Session.speaker_links)).order_by(*SESSION_ORDER)
    ).unique().all()


def starred_codes(user: User) -> set[str]:
    """The codes of the sessions ``user`` starred."""
    return set(db.session.scalars(
        select(Session.code).join(Favourite, Favourite.session_id == Session.id).where(Favourite.user_id == user.id)
    ))


def favourite_count(user: User) -> int:
    """How many stars ``user`` has."""
    return db.session.scalar(select(func.count()).select_from(Favourite).where(Favourite.user_id == user.id)) or 0


def walking_times() -> dict[frozenset[str], int]:
    """Minutes between two buildings, keyed by the pair (a frozenset of the two names)."""
    return {frozenset((row.building_a, row.building_b)): row.minutes for row in all_walking_times()}


def all_walking_times() -> Sequence[WalkingTime]:
    """Every walking time, by building names."""
    return db.session.scalars(select(WalkingTime).order_by(WalkingTime.building_a, WalkingTime.building_b)).all()


def building_names() -> set[str]:
    """The buildings the schedule's rooms are in."""
    return {name for name in db.session.scalars(select(Room.building).where(Room.building.is_not(None))) if name}


def unseen_changes(user: User) -> dict[int, list[SessionChange]]:
    """The changes to ``user``'s starred sessions they have not marked as seen, by session id.

    A star is "changed" while its session's ``sequence`` is above the star's ``seen_sequence``.
    Every import that changes a session raises its sequence by one and records that import's
    changes with one ``changed_at``, so the unseen changes are the newest
    ``sequence - seen_sequence`` batches, and only those made after the star was created.
    """
    rows = db.session.execute(
        select(SessionChange, Session.sequence - Favourite.seen_sequence)
        .join(Session, Session.id == SessionChange.session_id)
        .join(Favourite, and_(Favourite.session_id == Session.id, Favourite.user_id == user.id))
        .where(Session.sequence > Favourite.seen_sequence, SessionChange.changed_at > Favourite.created_at)
        .order_by(SessionChange.changed_at, SessionChange.id)
    ).all()
    by_session: dict[int, list[SessionChange]] = {}
    unseen_batches: dict[int, int] = {}
    for change, batches in rows:
        by_session.setdefault(change.session_id, []).append(change)
        unseen_batches[change.session_id] = batches
    result = {}
    for session_id, changes in by_session.items():
        moments = sorted({c.changed_at for c in changes})[-unseen_batches[session_id]:]
        result[session_id] = [c for c in changes if c.changed_at in moments]
    return result


def changes_since(user: User, since: datetime) -> list[tuple[SessionChange, Session]]:
    """Changes to ``user``'s starred sessions after ``since`` (and after each star), oldest first."""
    rows = db.session.execute(
        select(SessionChange, Session)
        .join(Session, Session.id == SessionChange.session_id)
        .join(Favourite, and_(Favourite.session_id == Session.id, Favourite.user_id == user.id))
        .where(SessionChange.changed_at > since, SessionChange.changed_at > Favourite.created_at)
        .order_by(SessionChange.changed_at, SessionChange.id)
    ).all()
    return [(change, session) for change, session in rows]


def share_of(user: User) -> AgendaShare | None:
    """``user``'s share link, if sharing is on."""
    return db.session.scalars(select(AgendaShare).where(AgendaShare.user_id == user.id)).first()


def share_by_token(token: str) -> tuple[AgendaShare, User] | None:
    """The share link with ``token`` and its owner, or None (never made, or turned off)."""
    if not token or len(token) > 64:
        return None
    row = db.session.execute(
        select(AgendaShare, User).join(User, User.id == AgendaShare.user_id).where(AgendaShare.token == token)
    ).first()
    return (row[0], row[1]) if row else None


def export_stars(user: User) -> list[dict[str, Any]]:
    """The person's stars for their data download: session code, title and start, when starred."""
    rows = db.session.execute(
        select(Favourite.created_at, Session.code, Session.title, Session.starts_at)
        .join(Session, Session.id == Favourite.session_id).where(Favourite.user_id == user.id)
        .order_by(Session.starts_at, Session.code)
    ).all()
    return [{"session": row.code, "title": row.title, "start": row.starts_at.isoformat(),
             "starred_at": row.created_at.isoformat()} for row in rows]


def export_agenda_links(user: User) -> list[dict[str, Any]]:
    """Which of the person's agenda links exist (a calendar feed, a share link), and since when.

    The addresses themselves are left out: a download that gets forwarded must not open them.
    """
    feed = db.session.scalars(select(CalendarFeed.created_at).where(CalendarFeed.user_id == user.id)).first()
    share = db.session.scalars(select(AgendaShare.created_at).where(AgendaShare.user_id == user.id)).first()
    links = [("calendar feed", feed), ("share link", share)]
    return [{"link": name, "created_at": created.isoformat()} for name, created in links if created is not None]
