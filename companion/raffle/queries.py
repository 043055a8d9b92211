"""Raffle queries: who is eligible, earlier winners, the published entries and winners, the proof,
what an attendee's card says, and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from companion.accounts import audit
from companion.accounts.models import Attendee, AuditEvent, User
from companion.extensions import db
from companion.hunt.queries import completers_query
from companion.raffle import algorithm
from companion.raffle.models import Raffle, RaffleEntry, RaffleListMember, RaffleWinner
from companion.schedule.days import day_range_utc

ELIGIBILITY_LABELS = {"hunt": "Completed that day's scavenger hunt",
                      "checked_in": "Checked in at the door by the end of that day",
                      "list": "An uploaded list of attendees"}


def eligible(raffle: Raffle, *, zone: ZoneInfo) -> Select[tuple[int]]:
    """User ids of the people who may enter ``raffle`` now: attendees without a staff or booth role who
    completed the day's hunt, or were checked in by the end of the day (check-in is once per
    conference), or are on the uploaded list. Sorted by id (the order does not matter: entries
    are published sorted by their code)."""
    if raffle.eligibility == "hunt":
        people = completers_query(raffle.day).subquery()
        ids = select(people.c.user_id.label("user_id"))
    elif raffle.eligibility == "checked_in":
        _, end = day_range_utc(raffle.day, zone)
        ids = select(Attendee.user_id.label("user_id")).where(Attendee.checked_in_at < end)
    else:
        ids = select(RaffleListMember.user_id.label("user_id")).where(RaffleListMember.raffle_id == raffle.id)
    members = ids.subquery()
    return (select(User.id).join(members, members.c.user_id == User.id).join(Attendee, Attendee.user_id == User.id)
            .where(User.role.is_(None)).order_by(User.id))


def eligible_count(raffle: Raffle, *, zone: ZoneInfo) -> int:
    """How many people would enter if the raffle were frozen now."""
    return db.session.scalar(select(func.count()).select_from(eligible(raffle, zone=zone).subquery())) or 0


def list_size(raffle: Raffle) -> int:
    """How many people are on the raffle's uploaded list."""
    return db.session.scalar(select(func.count()).select_from(RaffleListMember)
                             .where(RaffleListMember.raffle_id == raffle.id)) or 0


def past_winner_ids(raffle: Raffle) -> set[int]:
    """People who won another raffle and did not lose the prize (drawn and pending, or claimed)."""
    return set(db.session.scalars(
        select(RaffleEntry.user_id).join(RaffleWinner, RaffleWinner.entry_id == RaffleEntry.id)
        .where(RaffleWinner.raffle_id != raffle.id, RaffleWinner.status.in_(("drawn", "claimed")),
               RaffleEntry.user_id.is_not(None))))


def by_code(code: str) -> Raffle | None:
    """The raffle with this public code, or None."""
    return db.session.scalar(select(Raffle).where(Raffle.code == code))


def all_raffles() -> list[Raffle]:
    """Every raffle, by draw time."""
    return list(db.session.scalars(select(Raffle).order_by(Raffle.draw_at, Raffle.id)))


def entries(raffle: Raffle) -> list[RaffleEntry]:
    """The frozen entries, sorted by code (the published order)."""
    return list(db.session.scalars(select(RaffleEntry).where(RaffleEntry.raffle_id == raffle.id)
                                   .order_by(RaffleEntry.entry_code)))


def entry_count(raffle: Raffle) -> int:
    """How many entries the freeze fixed."""
    return db.session.scalar(select(func.count()).select_from(RaffleEntry)
                             .where(RaffleEntry.raffle_id == raffle.id)) or 0


@dataclass(frozen=True)
class Winner:
    """A winner as the desk and the screen see them."""

    id: int
    k: int
    entry: str
    status: str
    drawn_at: datetime
    claim_by: datetime
    decided_at: datetime | None
    name: str | None  # None when the account was deleted


def winners(raffle: Raffle) -> list[Winner]:
    """The winners in the order they were drawn (by k), with their names (staff only)."""
    rows = db.session.execute(
        select(RaffleWinner, RaffleEntry.entry_code, User.name)
        .join(RaffleEntry, RaffleEntry.id == RaffleWinner.entry_id).outerjoin(User, User.id == RaffleEntry.user_id)
        .where(RaffleWinner.raffle_id == raffle.id).order_by(RaffleWinner.k)).all()
    return [Winner(w.id, w.k, code, w.status, w.drawn_at, w.claim_by, w.decided_at, name) for w, code, name in rows]


def screen_name(name: str | None, mode: str) -> str | None:
    """What the projector shows beside the entry code: "Ada L." (first name, last initial) or nothing."""
    if mode != "first_initial" or not name:
        return None
    parts = name.split()
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][0].upper()}."


def proof(raffle: Raffle) -> dict[str, Any]:
    """The public proof: algorithm, sorted entries, the excluded ones, list hash, commitment, the seed
    once drawn, and the winners in sequence order with their k and status."""
    listed = entries(raffle) if raffle.frozen_at else []
    return {
        "algorithm": algorithm.ALGORITHM,
        "raffle": raffle.code,
        "winners_wanted": raffle.winners_wanted,
        "entries": [e.entry_code for e in listed],
        "excluded": [e.entry_code for e in listed if e.excluded],
        "list_hash": raffle.list_hash,
        "commitment": raffle.commitment,
        "seed": raffle.seed if raffle.drawn_at else None,
        "winners": [{"entry": w.entry, "k": w.k, "status": w.status} for w in winners(raffle)],
    }


@dataclass(frozen=True)
class MyEntry:
    """An attendee's entry in one raffle, for their hunt card."""

    raffle: Raffle
    entry_code: str
    excluded: bool
    won: RaffleWinner | None


def my_entries(user_id: int, day: date) -> list[MyEntry]:
    """``user_id``'s entries in the raffles of ``day``, with their win if any."""
    rows = db.session.execute(
        select(Raffle, RaffleEntry, RaffleWinner)
        .join(RaffleEntry, RaffleEntry.raffle_id == Raffle.id)
        .outerjoin(RaffleWinner, RaffleWinner.entry_id == RaffleEntry.id)
        .where(RaffleEntry.user_id == user_id, Raffle.day == day).order_by(Raffle.draw_at, Raffle.id)).all()
    return [MyEntry(raffle, entry.entry_code, entry.excluded, win) for raffle, entry, win in rows]


def raffles_on(day: date) -> list[Raffle]:
    """The raffles of ``day``, by draw time."""
    return list(db.session.scalars(select(Raffle).where(Raffle.day == day).order_by(Raffle.draw_at, Raffle.id)))


def audit_trail(raffle: Raffle) -> list[tuple[AuditEvent, str | None]]:
    """Every audited action on ``raffle`` with the name of who did it, oldest first."""
    return audit.trail("raffle.", raffle.code)
