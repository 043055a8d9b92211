"""Random tokens for links and badges, and how they are stored (hashed)."""

from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token of ``nbytes`` random bytes (32 bytes: 256 bits)."""
    return secrets.token_urlsafe(nbytes)


def new_badge_token() -> str:
    """A badge token: 16 random bytes (128 bits), 22 URL-safe characters, short enough for a small QR."""
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> str:
    """The SHA-256 of ``token`` as stored: a database leak does not leak working links."""
    return hashlib.sha256(token.encode()).hexdigest()
