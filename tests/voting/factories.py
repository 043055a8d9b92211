"""Voting factories: posters in categories, and the window (committed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from companion.extensions import db
from companion.voting import services
from companion.voting.models import Poster

CREATED = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
OPENS = datetime(2026, 4, 7, 16, 0, tzinfo=UTC)  # 18:00 in Paris
CLOSES = datetime(2026, 4, 7, 17, 0, tzinfo=UTC)  # 19:00 in Paris
_rng = random.Random(3)


def make_poster(board: str = "P1", title: str | None = None, *, categories: tuple[str, ...] = ("Best poster",),
                authors: str = "Ada Lovelace, Grace Hopper", abstract: str | None = "What we found.") -> Poster:
    """A poster on ``board`` in ``categories`` (committed)."""
    poster = services.add_poster(services.PosterFields(board, title or f"Poster on board {board}", authors, abstract,
                                                       categories), now=CREATED, rng=_rng)
    db.session.commit()
    return poster


def open_voting(opens_at: datetime = OPENS, closes_at: datetime | None = CLOSES, voters: str = "attendees") -> None:
    """Set the window (committed)."""
    services.set_window(opens_at, closes_at, voters, actor=None, now=CREATED)
    db.session.commit()
