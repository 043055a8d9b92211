"""Agenda services: star and unstar, merge a device's stars, feed and share tokens, walking times.

"Once per person and session" is the database's unique constraint; a star is one
``INSERT ... ON CONFLICT DO NOTHING``, so fifty taps at once still leave one star. Services flush;
the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete, select, update

from companion.accounts.models import User
from companion.accounts.tokens import new_token
from companion.agenda import feed_owners
from companion.agenda.models import AgendaShare, CalendarFeed, Favourite, WalkingTime
from companion.database import insert_ignoring_duplicates
from companion.extensions import db
from companion.schedule.models import Session

ALARM_CHOICES = (None, 5, 10, 15, 30)


class AgendaError(Exception):
    """A request about the agenda that cannot be honoured; ``str()`` says why."""


def star(user: User, session: Session, *, now: datetime) -> bool:
    """Star ``session`` for ``user``; starring twice is one star.

    :return: True if this call added the star, False if it was there already.
    """
    added = insert_ignoring_duplicates(
        Favourite,
        {"user_id": user.id, "session_id": session.id, "created_at": now, "seen_sequence": session.sequence},
        conflict_columns=("user_id", "session_id"),
    )
    if added:
        feed_owners.changed(user.id)
    return added


def unstar(user: User, session: Session) -> bool:
    """Remove the star; unstarring what is not starred is fine.

    :return: True if a star was removed.
    """
    result = db.session.execute(
        delete(Favourite).where(Favourite.user_id == user.id, Favourite.session_id == session.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        feed_owners.changed(user.id)
    return result.rowcount == 1


def merge_device_stars(user: User, codes: Iterable[str], *, now: datetime) -> int:
    """Add the stars a phone kept while signed out (session codes) to the account.

    Unknown codes are ignored (a session code from another conference, or a typo).

    :return: how many stars were new.
    """
    wanted = list(dict.fromkeys(code for code in codes if isinstance(code, str) and len(code) <= 16))[:500]
    if not wanted:
        return 0
    sessions = db.session.scalars(select(Session).where(Session.code.in_(wanted))).all()
    return sum(star(user, session, now=now) for session in sessions)


def mark_seen(user: User, sessions: Iterable[Session] | None = None) -> None:
    """Record that ``user`` has seen the current state of their starred ``sessions`` (default: all)."""
    statement = update(Favourite).where(Favourite.user_id == user.id)
    if sessions is not None:
        statement = statement.where(Favourite.session_id.in_([s.id for s in sessions]))
    # Correlated: each star takes its own session's sequence, in one statement.
    sequence = select(Session.sequence).where(Session.id == Favourite.session_id).scalar_subquery()
    db.session.execute(statement.values(seen_sequence=sequence).execution_options(synchronize_session=False))


def calendar_feed(user: User, *, now: datetime, make_token: Callable[[], str] = new_token) -> CalendarFeed:
    """The person's calendar feed, created on first use."""
    feed = db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).first()
    if feed is None:
        insert_ignoring_duplicates(CalendarFeed, {"user_id": user.id, "token": make_token(), "created_at": now,
                                                  "alarm_minutes": None}, conflict_columns=("user_id",))
        feed = db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user.id)).one()
    return feed


def regenerate_feed(user: User, *, now: datetime, make_token: Callable[[], str] = new_token) -> CalendarFeed:
    """Give the feed a new address; the old one answers 404 from now on."""
    feed = calendar_feed(user, now=now, make_token=make_token)
    feed.token = make_token()
    feed.created_at = now
    db.session.flush()
    feed_owners.changed(user.id)
    return feed


def set_alarm(user: User, minutes: int | None, *, now: datetime) -> CalendarFeed:
    """Set the feed's alarm lead time (None: no alarm).

    :raise AgendaError: for a lead time the settings do not offer.
    """
    if minutes not in ALARM_CHOICES:
        raise AgendaError(f"choose an alarm of {', '.join(str(m) for m in ALARM_CHOICES if m)} minutes, or none")
    feed = calendar_feed(user, now=now)
    feed.alarm_minutes = minutes
    db.session.flush()
    feed_owners.changed(user.id)
    return feed


def share_agenda(user: User, *, now: datetime, make_token: Callable[[], str] = new_token) -> AgendaShare:
    """Turn on the read-only share link (the same link if it is on already)."""
    share = db.session.scalars(select(AgendaShare).where(AgendaShare.user_id == user.id)).first()
    if share is None:
        insert_ignoring_duplicates(AgendaShare, {"user_id": user.id, "token": make_token(), "created_at": now},
                                   conflict_columns=("user_id",))
        share = db.session.scalars(select(AgendaShare).where(AgendaShare.user_id == user.id)).one()
    return share


def stop_sharing(user: User) -> None:
    """Turn the share link off; it answers 404 from now on."""
    db.session.execute(delete(AgendaShare).where(AgendaShare.user_id == user.id))


def set_walking_time(building: str, other: str, minutes: int) -> WalkingTime:
    """Set how many minutes it takes to walk between two buildings (either order).

    :raise AgendaError: for the same building twice, or minutes outside 0..120.
    """
    first, second = sorted((building.strip(), other.strip()))
    if not first or first == second:
        raise AgendaError("give two different buildings")
    if not 0 <= minutes <= 120:
        raise AgendaError("walking time must be between 0 and 120 minutes")
    row = db.session.scalars(select(WalkingTime).where(WalkingTime.building_a == first, WalkingTime.building_b == second)).first()
    if row is None:
        row = WalkingTime(building_a=first, building_b=second, minutes=minutes)
        db.session.add(row)
    row.minutes = minutes
    db.session.flush()
    return row


def forget_agenda(user: User, *, now: datetime) -> None:
    """Delete the person's stars, calendar feed and share link (their account is being deleted).

    Stars are personal, not counts: nothing of them is kept. Flushes, does not commit.
    """
    for model in (Favourite, CalendarFeed, AgendaShare):
        db.session.execute(delete(model).where(model.user_id == user.id).execution_options(synchronize_session=False))
    feed_owners.changed(user.id)
