"""The demo's raffles: a morning raffle already drawn (its proof public, its winners on their cards)
and today's 15:45 raffle, open, for the newcomer to freeze and draw from the staff desk."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db
from companion.raffle import services
from companion.raffle.models import Raffle


def load_demo_raffles(today: date, *, now: datetime, zone: ZoneInfo, rng: random.Random, staff: User,
                      card_url: str) -> tuple[str, list[str]]:
    """Add the two raffles (once). :return: a summary line and the raffle codes (drawn one first)."""
    existing = list(db.session.scalars(select(Raffle.code).order_by(Raffle.id)))
    if existing:
        return "The database already holds raffles; keeping them.", existing
    morning = services.create_raffle(services.RaffleFields(
        title="Early birds' raffle", prize="A PyTorch hoodie", day=today, draw_time=time(11, 0), winners_wanted=2,
        claim_place="the registration desk"), actor=staff, now=now, zone=zone, rng=rng)
    # Before 04:00 the demo's "today" has no hunt yet (a new card starts every morning): nobody to draw.
    if services.freeze(morning, actor=staff, now=now - timedelta(minutes=2), zone=zone, rng=rng):
        services.draw(morning, actor=staff, now=now - timedelta(minutes=1), zone=zone, card_url=card_url,
                      confirm_small=True)
    daily = services.create_raffle(services.RaffleFields(
        title="Daily hunt raffle", prize="A mechanical keyboard", day=today, claim_place="the raffle desk in the expo hall"),
        actor=staff, now=now, zone=zone, rng=rng)
    return (f"{morning.title} {morning.state} ({morning.code}), {daily.title} open at 15:45 ({daily.code})",
            [morning.code, daily.code])
