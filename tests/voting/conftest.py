"""Voting fixtures: the small test conference (Europe/Paris, 7 and 8 April 2026)."""

from __future__ import annotations

import pytest

from tests.factories import load_schedule


@pytest.fixture
def conference(db) -> None:
    """The small test conference: Europe/Paris, 7 and 8 April 2026."""
    load_schedule()
