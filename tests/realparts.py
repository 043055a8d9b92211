"""Real components the tests need (PostgreSQL, Chromium, ...): skip locally, fail in CI.

CI sets ``COMPANION_REQUIRE_REAL=1``: there a missing component is an error, never a skip.
"""

from __future__ import annotations

import os

import pytest


def require_real() -> bool:
    return os.environ.get("COMPANION_REQUIRE_REAL", "") not in ("", "0", "false")


def missing(component: str, why: str) -> None:
    """Skip (or, under ``COMPANION_REQUIRE_REAL``, fail) because ``component`` is not available."""
    message = f"{component} is not available: {why}"
    if require_real():
        pytest.fail(message + " (COMPANION_REQUIRE_REAL is set, so this is an error)", pytrace=False)
    pytest.skip(message)
