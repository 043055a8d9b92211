"""One row per Idempotency-Key: who sent it, what it asked, and (once answered) the answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.database import Base, UTCDateTime


class IdempotencyKey(Base):
    """A key as one account (``scope``) sent it; ``status_code`` is None while its request runs.

    ``owner`` is a random value of the request that holds the key: only that request may store the
    answer or let the key go, even after another took over a key whose request died.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        Index("ix_idempotency_key_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # "user:42", or "anonymous"
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(32))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(120))
    headers: Mapped[str | None] = mapped_column(Text)  # JSON object: Location, ETag
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set in the request's own transaction when it commits its action: a key whose action
    # committed is never run again, even if its answer was never stored (the process died).
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
