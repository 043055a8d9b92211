"""A person's poster votes in their data download.

Deleting the account keeps each ballot, unlinked from the person (the foreign key sets it to
NULL): the tally staff may already have announced must not change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db
from companion.voting.models import Ballot, Poster, VoteCategory


def export_votes(user: User) -> list[dict[str, Any]]:
    """Each category voted in: the poster (board, title), when first cast, last changed, how often moved."""
    rows = db.session.execute(
        select(VoteCategory.name, Poster.board, Poster.title, Ballot.cast_at, Ballot.updated_at, Ballot.changes)
        .join(VoteCategory, VoteCategory.id == Ballot.category_id).join(Poster, Poster.id == Ballot.poster_id)
        .where(Ballot.user_id == user.id).order_by(VoteCategory.position, VoteCategory.id)).all()
    return [{"category": name, "board": board, "title": title, "cast_at": cast.isoformat(),
             "updated_at": updated.isoformat(), "changes": changes} for name, board, title, cast, updated, changes in rows]
