"""Who an announcement goes to: a registry of named audiences that features extend.

Built in: ``everyone`` and ``checked_in``. Another feature registers its own segment at start-up,
for instance the hunt's "completed today's hunt"::

    audiences.register("hunt_completed_today", "Completed today's hunt", lambda now: select(...user ids...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select

from companion.accounts.models import Attendee, User
from companion.extensions import db
from companion.push.models import AUDIENCE_MAX, PushPreferences, PushSubscription


@dataclass(frozen=True)
class Audience:
    """A named group of people: ``members(now)`` is a query of their user ids."""

    key: str
    label: str
    members: Callable[[datetime], Select[tuple[int]]]


_REGISTRY: dict[str, Audience] = {}


def register(key: str, label: str, members: Callable[[datetime], Select[tuple[int]]]) -> None:
    """Add an audience (or replace one with the same key)."""
    if not key or len(key) > AUDIENCE_MAX:
        raise ValueError(f"an audience key has 1 to {AUDIENCE_MAX} characters: {key!r}")
    _REGISTRY[key] = Audience(key, label, members)


def choices() -> list[Audience]:
    """Every audience, in the order registered."""
    return list(_REGISTRY.values())


def get(key: str) -> Audience | None:
    """The audience called ``key``, or None."""
    return _REGISTRY.get(key)


def devices(key: str, *, now: datetime) -> list[tuple[int, int]]:
    """(subscription id, user id) of every unflagged device of the audience's members who want announcements.

    An unknown audience (a segment whose feature was removed) has no devices.
    """
    audience = _REGISTRY.get(key)
    if audience is None:
        return []
    members = audience.members(now).subquery()
    wants = or_(PushPreferences.user_id.is_(None), PushPreferences.announcements.is_(True))
    return [tuple(row) for row in db.session.execute(
        select(PushSubscription.id, PushSubscription.user_id)
        .outerjoin(PushPreferences, PushPreferences.user_id == PushSubscription.user_id)
        .where(PushSubscription.user_id.in_(select(members.c[0])), PushSubscription.flagged_at.is_(None), wants)
        .order_by(PushSubscription.id))]


def count(key: str, *, now: datetime) -> tuple[int, int]:
    """(people, devices) an announcement to ``key`` would reach now."""
    found = devices(key, now=now)
    return len({user_id for _, user_id in found}), len(found)


register("everyone", "Everyone", lambda now: select(User.id))
register("checked_in", "Checked-in attendees",
         lambda now: select(Attendee.user_id).where(Attendee.checked_in_at.is_not(None)))
