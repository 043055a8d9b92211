"""Raffle tables: the raffle and its draw state, the frozen entries, the eligibility list, the winners.

The draw's steps are columns set by conditional updates (``... WHERE frozen_at IS NULL``,
``... WHERE drawn_at IS NULL``, ``... WHERE next_k = :seen``), so two staff members pressing the
same button at the same moment make one freeze, one draw, one redraw. A person has at most one
entry and one win per raffle, and a position ``k`` of the sequence gives at most one winner:
unique constraints.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime

ELIGIBILITY = ("hunt", "checked_in", "list")
SCREEN_NAMES = ("first_initial", "entry_only")
WINNER_STATUSES = ("drawn", "claimed", "not_claimed")


class Raffle(Base):
    """One raffle: what is won, when it is drawn, who may enter, and where the draw stands.

    ``seed`` is stored from the freeze but published only once ``drawn_at`` is set; ``commitment``
    (its SHA-256) is published at the freeze. ``next_k`` is where the winner sequence continues.
    """

    __tablename__ = "raffle"
    __table_args__ = (
        CheckConstraint("eligibility IN ('hunt', 'checked_in', 'list')", name="eligibility"),
        CheckConstraint("screen_names IN ('first_initial', 'entry_only')", name="screen_names"),
        CheckConstraint("winners_wanted BETWEEN 1 AND 100", name="winners_wanted"),
        CheckConstraint("claim_minutes BETWEEN 1 AND 1440", name="claim_minutes"),
        CheckConstraint("drawn_at IS NULL OR frozen_at IS NOT NULL", name="drawn_after_frozen"),
        Index("ix_raffle_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # public: /raffles/<code>
    title: Mapped[str] = mapped_column(String(200))
    prize: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)  # the conference day whose hunt (or check-ins) qualify
    draw_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_place: Mapped[str] = mapped_column(String(200))  # "the raffle desk in the expo hall"
    winners_wanted: Mapped[int] = mapped_column(Integer, default=1)
    eligibility: Mapped[str] = mapped_column(String(12), default="hunt")
    exclude_past_winners: Mapped[bool] = mapped_column(Boolean, default=True)
    claim_minutes: Mapped[int] = mapped_column(Integer, default=30)
    screen_names: Mapped[str] = mapped_column(String(16), default="first_initial")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    list_hash: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of the sorted entries
    commitment: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of the seed
    seed: Mapped[str | None] = mapped_column(String(64))  # hex, 32 bytes; secret until drawn_at
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_k: Mapped[int | None] = mapped_column(Integer)

    @property
    def state(self) -> str:
        """"open" (entries not fixed), "frozen" (entries and commitment published) or "drawn"."""
        return "drawn" if self.drawn_at else "frozen" if self.frozen_at else "open"


class RaffleListMember(Base):
    """Someone on a raffle's uploaded list (eligibility "list"), before the freeze."""

    __tablename__ = "raffle_list_member"
    __table_args__ = (UniqueConstraint("raffle_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    raffle_id: Mapped[int] = mapped_column(ForeignKey("raffle.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))


class RaffleEntry(Base):
    """A frozen entry: a person under a per-raffle pseudonym ("7QK2-M9"), never a name in public.

    ``excluded`` entries (earlier winners) are listed and hashed like the others, and skipped by
    the draw: the proof names them, so anyone can check the skip.
    """

    __tablename__ = "raffle_entry"
    __table_args__ = (UniqueConstraint("raffle_id", "entry_code"), UniqueConstraint("raffle_id", "user_id"),
                      Index("ix_raffle_entry_user_id", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    raffle_id: Mapped[int] = mapped_column(ForeignKey("raffle.id", ondelete="CASCADE"))
    # Kept when the person's account is deleted: the published list and its hash must not change.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    entry_code: Mapped[str] = mapped_column(String(16))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)


class RaffleWinner(Base):
    """A winner: the entry drawn at position ``k`` of the sequence, and whether the prize was claimed.

    A winner who does not claim is marked "not_claimed" and stays (visible in the proof); the
    replacement comes from the same sequence, at a higher ``k``.
    """

    __tablename__ = "raffle_winner"
    __table_args__ = (
        UniqueConstraint("raffle_id", "k"),
        UniqueConstraint("raffle_id", "entry_id"),
        CheckConstraint("status IN ('drawn', 'claimed', 'not_claimed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    raffle_id: Mapped[int] = mapped_column(ForeignKey("raffle.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("raffle_entry.id", ondelete="CASCADE"))
    k: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_by: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="drawn")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    entry: Mapped[RaffleEntry] = relationship(lazy="joined")
