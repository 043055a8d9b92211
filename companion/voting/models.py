"""Voting tables: categories, posters (in one or more categories), ballots, the window, tie-breaks.

One ballot per person and category is a unique constraint; voting again moves it (one
``INSERT ... ON CONFLICT DO UPDATE``), never a second row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime

VOTERS = ("attendees", "checked_in")

poster_category = Table(
    "poster_category", Base.metadata,
    Column("poster_id", ForeignKey("poster.id", ondelete="CASCADE"), primary_key=True),
    Column("category_id", ForeignKey("vote_category.id", ondelete="CASCADE"), primary_key=True),
)


class VoteCategory(Base):
    """A prize voted for ("Best poster", "People's choice"); ``revealed_at``: results shown to all."""

    __tablename__ = "vote_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # a slug: "best-poster"
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Poster(Base):
    """A poster on a board: its public short code (in the board's QR), title, authors, abstract."""

    __tablename__ = "poster"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    board: Mapped[str] = mapped_column(String(20), unique=True)  # "P12": printed on the board
    title: Mapped[str] = mapped_column(String(300))
    authors: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    categories: Mapped[list[VoteCategory]] = relationship(secondary=poster_category, lazy="selectin",
                                                          order_by="VoteCategory.position")


class Ballot(Base):
    """A person's vote in a category. ``changes`` counts how often it moved (atomically, in SQL)."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("user_id", "category_id"), Index("ix_ballot_category_id_poster_id",
                                                                         "category_id", "poster_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deleting an account keeps the ballot, unlinked: the tally must not change after the reveal.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    category_id: Mapped[int] = mapped_column(ForeignKey("vote_category.id", ondelete="CASCADE"))
    poster_id: Mapped[int] = mapped_column(ForeignKey("poster.id", ondelete="CASCADE"))
    counted: Mapped[bool] = mapped_column(default=True)  # False: cast by a staff account (not counted)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[int] = mapped_column(Integer, default=0)


class VotingWindow(Base):
    """The one voting window: open from ``opens_at`` until ``closes_at`` (either may be unset:
    not open yet / no set end), and who may vote."""

    __tablename__ = "voting_window"
    __table_args__ = (CheckConstraint("voters IN ('attendees', 'checked_in')", name="voters"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voters: Mapped[str] = mapped_column(String(12), default="attendees")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TieBreak(Base):
    """Staff's decision between tied posters in a category (recorded, audited)."""

    __tablename__ = "tie_break"
    __table_args__ = (UniqueConstraint("category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("vote_category.id", ondelete="CASCADE"))
    poster_id: Mapped[int] = mapped_column(ForeignKey("poster.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    poster: Mapped[Poster] = relationship(lazy="joined")
