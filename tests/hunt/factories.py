"""Hunt factories: stations on given days, and a conference in Europe/Paris for the day boundary."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from companion.extensions import db
from companion.hunt import services
from companion.hunt.models import Station

DAY_ONE = date(2026, 4, 7)
DAY_TWO = date(2026, 4, 8)
CREATED = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
_rng = random.Random(11)


def make_station(name: str = "Acme AI", *, days: list[date] | None = None, required: bool = False,
                 mode: str = "rotating", location: str | None = "Expo hall, booth B12") -> Station:
    """A station (committed), in the hunt on ``days`` (default: day one)."""
    station = services.add_station(name, days=days or [DAY_ONE], location=location, required=required, mode=mode,
                                   now=CREATED, rng=_rng)
    db.session.commit()
    return station
