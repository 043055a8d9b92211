"""A person's raffle entries in their data download.

Deleting the account keeps the entry code in the published list (its hash must not change) but
unlinks it from the person: the foreign key sets it to NULL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db
from companion.raffle.models import Raffle, RaffleEntry, RaffleWinner


def export_entries(user: User) -> list[dict[str, Any]]:
    """Each raffle entered: the raffle, the entry code, excluded or not, and the win if any."""
    rows = db.session.execute(
        select(Raffle.title, Raffle.day, RaffleEntry.entry_code, RaffleEntry.excluded, RaffleWinner.status)
        .join(RaffleEntry, RaffleEntry.raffle_id == Raffle.id)
        .outerjoin(RaffleWinner, RaffleWinner.entry_id == RaffleEntry.id)
        .where(RaffleEntry.user_id == user.id).order_by(Raffle.draw_at, Raffle.id)).all()
    return [{"raffle": title, "day": day.isoformat(), "entry": code, "excluded": excluded, "won": status}
            for title, day, code, excluded, status in rows]
