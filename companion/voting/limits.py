"""The per-person vote limit, shared by the poster page's button and the API."""

from __future__ import annotations

from flask_login import current_user

from companion.extensions import limiter

# Per person, not per address (a venue shares one): wide enough for a reception, a wall for scripts.
VOTE_RATE_LIMIT = "60 per minute"


def person_key() -> str:
    """The limit's key: the signed-in person."""
    return f"user:{current_user.get_id()}"


vote_rate_limit = limiter.shared_limit(VOTE_RATE_LIMIT, scope="poster-votes", key_func=person_key)
