"""Schedule tables.

Sessions and speakers are matched across re-imports by ``source_key`` (the id the source file
gives them) and addressed publicly by a short random ``code``. Sessions are never deleted: a
session that leaves the source is marked cancelled, because attendees' stars and votes hang on it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime

SESSION_STATES = ("confirmed", "cancelled")
CHANGE_KINDS = ("time", "room", "title", "cancelled", "restored", "details")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Conference(Base):
    """The one conference this deployment serves."""

    __tablename__ = "conference"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    acronym: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(500))
    venue_name: Mapped[str | None] = mapped_column(String(200))
    venue_address: Mapped[str | None] = mapped_column(String(500))
    wifi_ssid: Mapped[str | None] = mapped_column(String(100))
    wifi_password: Mapped[str | None] = mapped_column(String(100))
    # Grows by one with every import that changes anything; caches of the schedule document and
    # the exports are keyed by it.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Room(Base):
    """A room (stage, hall, café) in a building of the venue."""

    __tablename__ = "room"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    building: Mapped[str | None] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Track(Base):
    """A thematic track, with the colour the schedule shows it in."""

    __tablename__ = "track"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    colour: Mapped[str | None] = mapped_column(String(7))


class Speaker(Base):
    """A person who gives one or more sessions."""

    __tablename__ = "speaker"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    biography: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))

    session_links: Mapped[list[SessionSpeaker]] = relationship(back_populates="speaker")


class Session(Base):
    """A talk, keynote, lightning talk, workshop or break, in a room at a time."""

    __tablename__ = "session"
    __table_args__ = (
        CheckConstraint(_one_of("state", SESSION_STATES), name="state"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        Index("ix_session_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True)  # calendar UIDs are built from it
    external_id: Mapped[int | None] = mapped_column(Integer)
    slug: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    subtitle: Mapped[str | None] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id"))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("track.id"))
    type: Mapped[str | None] = mapped_column(String(100))
    level: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="confirmed")
    # Grows with every change, so calendar clients (SEQUENCE) and caches notice.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    room: Mapped[Room | None] = relationship(lazy="joined")
    track: Mapped[Track | None] = relationship(lazy="joined")
    speaker_links: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="session", order_by="SessionSpeaker.position", cascade="all, delete-orphan"
    )

    @property
    def speakers(self) -> list[Speaker]:
        """The session's speakers in billing order."""
        return [link.speaker for link in self.speaker_links]

    @property
    def is_cancelled(self) -> bool:
        """True once the session is cancelled (it stays in the schedule, marked)."""
        return self.state == "cancelled"


class SessionSpeaker(Base):
    """Who speaks in which session, in billing order."""

    __tablename__ = "session_speaker"

    session_id: Mapped[int] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"), primary_key=True)
    speaker_id: Mapped[int] = mapped_column(ForeignKey("speaker.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    session: Mapped[Session] = relationship(back_populates="speaker_links")
    speaker: Mapped[Speaker] = relationship(back_populates="session_links", lazy="joined")


class SessionChange(Base):
    """One change a re-import made to a session: what, from what, to what, and when.

    Kinds: ``time``, ``room``, ``title``, ``cancelled``, ``restored`` (back from cancelled) and
    ``details`` (abstract, speakers, track and the like; ``new_value`` names the fields).
    """

    __tablename__ = "session_change"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CHANGE_KINDS), name="kind"),
        Index("ix_session_change_changed_at", "changed_at"),
        Index("ix_session_change_session_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    session: Mapped[Session] = relationship()
