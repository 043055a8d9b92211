"""Hunt tables: stations (booths), the days each is part of the hunt, stamps, and the completion rule.

A stamp is unique per person, station and conference day: a database constraint, so a second
scan (or fifty at once) leaves one row and answers "already stamped at 11:42".
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime

STATION_MODES = ("rotating", "fixed")
STAMP_METHODS = ("code", "badge")


class Station(Base):
    """A booth or place of the hunt. ``code`` is its public name in URLs; ``secret`` keys its codes."""

    __tablename__ = "station"
    __table_args__ = (
        CheckConstraint("mode IN ('rotating', 'fixed')", name="mode"),
        CheckConstraint("mode = 'rotating' OR fixed_code IS NOT NULL", name="fixed_has_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # also User.booth_code of its booth staff
    name: Mapped[str] = mapped_column(String(200))  # the sponsor or place, as attendees see it
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))  # "Expo hall, booth B12"
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # rotating: the booth's screen shows a code that changes every 30 seconds (HMAC of the secret);
    # fixed: a printed code that never changes (weaker: a photo of it works for anyone).
    mode: Mapped[str] = mapped_column(String(10), default="rotating")
    secret: Mapped[str] = mapped_column(String(64))
    fixed_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    days: Mapped[list[StationDay]] = relationship(cascade="all, delete-orphan", order_by="StationDay.day",
                                                  lazy="selectin")

    @property
    def active_days(self) -> list[date]:
        """The conference days this station is part of the hunt."""
        return [d.day for d in self.days]


class StationDay(Base):
    """A conference day on which a station is part of the hunt."""

    __tablename__ = "station_day"
    __table_args__ = (UniqueConstraint("station_id", "day"), Index("ix_station_day_day", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)


class Stamp(Base):
    """One stamp: who, where, which conference day, when and how (and by whom, for a badge scan)."""

    __tablename__ = "stamp"
    __table_args__ = (
        UniqueConstraint("user_id", "station_id", "day"),
        CheckConstraint("method IN ('code', 'badge')", name="method"),
        Index("ix_stamp_day_station_id", "day", "station_id"),
        Index("ix_stamp_station_id_stamped_at", "station_id", "stamped_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    stamped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(10))
    stamped_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The attendee agreed, at this stamp, that the booth may see their name and company.
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False)

    station: Mapped[Station] = relationship(lazy="joined")


class HuntRule(Base):
    """The hunt's settings (one row). The completion rule: ``stamps_needed`` of the day's stations,
    and every required station active that day (fewer stations than that on a day: all of them).
    ``offline_grace_minutes``: how late a code scanned offline may arrive."""

    __tablename__ = "hunt_rule"
    __table_args__ = (
        CheckConstraint("stamps_needed BETWEEN 1 AND 1000", name="stamps_needed"),
        CheckConstraint("offline_grace_minutes BETWEEN 0 AND 240", name="offline_grace_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stamps_needed: Mapped[int] = mapped_column(Integer, default=5)
    # How long after a rotating code expired it is still accepted from a phone that scanned it
    # offline (0: never). See companion.hunt.codes.offline_accepted for the trade-off.
    offline_grace_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
