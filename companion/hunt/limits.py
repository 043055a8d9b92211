"""Rate limits on submitting booth codes: per attendee, one budget for the API and the pages."""

from __future__ import annotations

from flask_login import current_user

from companion.extensions import limiter

STAMP_RATE_LIMIT = "20 per minute"


def person_key() -> str:
    """The limit's key: the signed-in person (a whole venue shares one address on its Wi-Fi)."""
    return f"user:{current_user.get_id()}"


# Shared by every way of submitting a code, so guessing is not faster by spreading guesses over routes.
stamp_rate_limit = limiter.shared_limit(STAMP_RATE_LIMIT, scope="hunt-stamps", key_func=person_key)
