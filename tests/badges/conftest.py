"""Fixtures of the badge and check-in tests: the conference (Europe/Paris), an attendee, a door."""

from __future__ import annotations

import pytest

from companion.accounts.models import Attendee, User
from tests.accounts.factories import make_attendee, make_user
from tests.factories import load_schedule


@pytest.fixture
def conference(db) -> None:
    """The small test conference: "Test Conf 2026", Europe/Paris."""
    load_schedule()


@pytest.fixture
def ada(db, conference) -> Attendee:
    """Ada Lovelace of Analytical Engines, a speaker, not checked in."""
    return make_attendee(email="ada.lovelace@example.org", name="Ada Lovelace", company="Analytical Engines",
                         ticket_type="Speaker")


@pytest.fixture
def door(db) -> User:
    """A staff member at the door."""
    return make_user(email="sam.door@example.org", name="Sam Door", role="staff")
