"""Raffle factories: attendees who completed a day's hunt, and raffles (committed)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from companion.accounts.models import User
from companion.extensions import db
from companion.hunt import services as hunt
from companion.hunt.models import Station
from companion.raffle import services
from companion.raffle.models import Raffle
from tests.accounts.factories import make_attendee
from tests.hunt.factories import DAY_ONE, make_station

PARIS = ZoneInfo("Europe/Paris")
CREATED = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
FREEZE_AT = datetime(2026, 4, 7, 13, 30, tzinfo=UTC)  # 15:30 in Paris
DRAW_AT = datetime(2026, 4, 7, 13, 45, tzinfo=UTC)  # 15:45 in Paris
_rng = random.Random(7)


def make_raffle(title: str = "Daily raffle", *, day: date = DAY_ONE, **fields: object) -> Raffle:
    """A raffle of ``day`` (committed); ``fields`` override :class:`~companion.raffle.services.RaffleFields`."""
    values = {"prize": "A PyTorch hoodie", "claim_place": "the raffle desk in the expo hall", **fields}
    raffle = services.create_raffle(services.RaffleFields(title=title, day=day, **values), actor=None, now=CREATED,
                                    zone=PARIS, rng=_rng)
    db.session.commit()
    return raffle


def hunt_station(day: date = DAY_ONE) -> Station:
    """One station that alone completes ``day``'s hunt (the rule asks for all stations when fewer)."""
    return make_station(f"Booth {day.isoformat()}", days=[day])


def make_completers(count: int, *, station: Station, day: date = DAY_ONE, prefix: str = "person") -> list[User]:
    """``count`` attendees who completed ``day``'s hunt at ``station`` (committed)."""
    people = []
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC).replace(hour=9)
    for i in range(count):
        user = make_attendee(email=f"{prefix}{i}@example.org", name=f"{prefix.title()} Number{i}").user
        hunt.record_stamp(user, station, now=moment, zone=PARIS, method="code")
        people.append(user)
    db.session.commit()
    return people
