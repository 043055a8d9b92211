"""Agenda tables: a person's stars, their private calendar feed, their share link, walking times.

Stars point at sessions, which are never deleted (a session that leaves the schedule is marked
cancelled), so stars survive every re-import.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime
from companion.schedule.models import Session


class Favourite(Base):
    """One star: a person and a session, at most once (a database constraint)."""

    __tablename__ = "favourite"
    __table_args__ = (UniqueConstraint("user_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # (user_id, session_id) is unique, so that index also serves "my stars"; session_id gets its
    # own for "who starred this session" (change alerts).
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The session's sequence when the person last looked: a larger sequence means "changed since".
    seen_sequence: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[Session] = relationship(lazy="joined")


class CalendarFeed(Base):
    """A person's private calendar subscription: ``/ical/<token>.ics``. Regenerating replaces the token."""

    __tablename__ = "calendar_feed"
    __table_args__ = (CheckConstraint("alarm_minutes IS NULL OR alarm_minutes BETWEEN 0 AND 1440", name="alarm_minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Minutes before each session for a calendar alarm; None: no alarm.
    alarm_minutes: Mapped[int | None] = mapped_column(Integer)


class FeedAnnouncement(Base):
    """A change to someone's calendar feed or stars, written by migration 0009's triggers for the
    web processes on SQLite to read (:mod:`companion.agenda.feed_owners`). PostgreSQL announces the
    same changes with NOTIFY instead, so there this table stays empty. The triggers keep the last
    1,000 rows."""

    __tablename__ = "feed_announcement"
    # AUTOINCREMENT: ids never go back, even when the table is emptied, so "after id N" stays true.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the account may be gone


class AgendaShare(Base):
    """An opt-in, read-only link to a person's agenda: ``/agenda/shared/<token>``. Deleting it revokes it."""

    __tablename__ = "agenda_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WalkingTime(Base):
    """Minutes to walk between two buildings of the venue (stored once per pair, names sorted)."""

    __tablename__ = "walking_time"
    __table_args__ = (
        UniqueConstraint("building_a", "building_b"),
        CheckConstraint("building_a < building_b", name="sorted_pair"),
        CheckConstraint("minutes BETWEEN 0 AND 120", name="minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_a: Mapped[str] = mapped_column(String(200))
    building_b: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(Integer)
