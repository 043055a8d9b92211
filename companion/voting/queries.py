"""Voting queries: posters and categories, a person's ballots, the tally, the anonymised ballots."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from companion.downloads import csv_document
from companion.extensions import db
from companion.voting.models import Ballot, Poster, TieBreak, VoteCategory, poster_category


def categories() -> list[VoteCategory]:
    """Every category, in order."""
    return list(db.session.scalars(select(VoteCategory).order_by(VoteCategory.position, VoteCategory.id)))


def category_by_code(code: str) -> VoteCategory | None:
    """The category with this code, or None."""
    return db.session.scalar(select(VoteCategory).where(VoteCategory.code == code))


def posters(category: VoteCategory | None = None) -> list[Poster]:
    """Posters by board (those of ``category`` only, if given)."""
    statement = select(Poster).order_by(func.length(Poster.board), Poster.board)
    if category is not None:
        statement = statement.join(poster_category).where(poster_category.c.category_id == category.id)
    return list(db.session.scalars(statement))


def poster_by_code(code: str) -> Poster | None:
    """The poster with this code (as the board's QR carries it, any case), or None."""
    return db.session.scalar(select(Poster).where(Poster.code == code.strip().upper()))


def my_ballots(user_id: int) -> dict[int, int]:
    """category id -> poster id of this person's votes."""
    return dict(db.session.execute(select(Ballot.category_id, Ballot.poster_id).where(Ballot.user_id == user_id)).all())


@dataclass(frozen=True)
class TallyRow:
    """A poster's votes in a category, its share and its rank (tied posters share a rank)."""

    poster: Poster
    votes: int
    percent: float
    rank: int


@dataclass(frozen=True)
class Tally:
    """A category's counted votes: rows by votes, the total, the posters tied first, the tie-break."""

    category: VoteCategory
    rows: list[TallyRow]
    total: int
    tied_first: list[Poster]
    tie_break: TieBreak | None

    @property
    def winner(self) -> Poster | None:
        """The single leader, or the tie-break's choice; None while a tie is open or nobody voted."""
        if self.total == 0:
            return None
        if len(self.tied_first) > 1:
            return self.tie_break.poster if self.tie_break and self.tie_break.poster in self.tied_first else None
        return self.rows[0].poster


def tally(category: VoteCategory) -> Tally:
    """Counted ballots (not staff ones) per poster of ``category``, every poster listed (0 included)."""
    counts = dict(db.session.execute(
        select(Ballot.poster_id, func.count()).where(Ballot.category_id == category.id, Ballot.counted.is_(True))
        .group_by(Ballot.poster_id)).all())
    in_category = posters(category)
    known = {p.id for p in in_category}
    # A poster taken out of the category after votes were cast keeps them (they were cast).
    extra = [p for p in db.session.scalars(select(Poster).where(Poster.id.in_(set(counts) - known)))] if set(counts) - known else []
    everyone = in_category + extra
    total = sum(counts.values())
    ordered = sorted(everyone, key=lambda p: (-counts.get(p.id, 0), len(p.board), p.board))
    rows, rank, previous = [], 0, None
    for position, poster in enumerate(ordered, start=1):
        votes = counts.get(poster.id, 0)
        if votes != previous:
            rank, previous = position, votes
        rows.append(TallyRow(poster, votes, round(100 * votes / total, 1) if total else 0.0, rank))
    top = rows[0].votes if rows else 0
    tied = [r.poster for r in rows if r.votes == top] if total else []
    tie_break = db.session.scalar(select(TieBreak).where(TieBreak.category_id == category.id))
    return Tally(category, rows, total, tied, tie_break)


def ballots_csv() -> tuple[str, str]:
    """The anonymised ballots as CSV (category, board, poster code, counted), sorted so the order
    says nothing about who voted when, and the hex SHA-256 of that exact text, for the record."""
    rows = db.session.execute(
        select(VoteCategory.code, Poster.board, Poster.code, Ballot.counted)
        .join(VoteCategory, VoteCategory.id == Ballot.category_id).join(Poster, Poster.id == Ballot.poster_id)).all()
    ordered = sorted(rows, key=lambda r: (r[0], len(r[1]), r[1], r[2], not r[3]))
    text = csv_document(("category", "board", "poster", "counted"),
                        ((c, board, code, "yes" if counted else "no (staff)") for c, board, code, counted in ordered))
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()
