"""Hunt fixtures: the small test conference (Europe/Paris), an attendee, a station, its codes."""

from __future__ import annotations

from datetime import datetime

import pytest

from companion.hunt import codes
from companion.hunt.models import Station
from tests.accounts.factories import make_attendee
from tests.factories import load_schedule
from tests.hunt.factories import make_station


@pytest.fixture
def conference(db) -> None:
    """The small test conference: Europe/Paris, 7 and 8 April 2026."""
    load_schedule()


@pytest.fixture
def ada(db, conference):
    return make_attendee(email="ada.lovelace@example.org", name="Ada Lovelace", company="Analytical Engines").user


@pytest.fixture
def acme(db, conference) -> Station:
    return make_station("Acme AI")


def code_at(station: Station, moment: datetime) -> str:
    """What the booth's screen shows at ``moment``."""
    return codes.rotating_code(station.code, station.secret, codes.window_of(moment))
