"""Reading the audit log: one feature's trail, and the same as CSV rows (raffle desk, voting)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import AuditEvent, User
from companion.extensions import db

CSV_HEADER = ("at_utc", "actor", "action", "subject", "details")


def trail(prefix: str, subject: str | None = None) -> list[tuple[AuditEvent, str | None]]:
    """Events whose action starts with ``prefix`` (``"raffle."``), of ``subject`` if given, with the
    actor's name (None for the system), oldest first."""
    statement = (select(AuditEvent, User.name).outerjoin(User, User.id == AuditEvent.actor_id)
                 .where(AuditEvent.action.startswith(prefix, autoescape=True)).order_by(AuditEvent.at, AuditEvent.id))
    if subject is not None:
        statement = statement.where(AuditEvent.subject == subject)
    return [(event, name) for event, name in db.session.execute(statement).all()]


def csv_rows(events: list[tuple[AuditEvent, str | None]]) -> Iterator[tuple[str, str, str, str, str]]:
    """One row per event for :data:`CSV_HEADER`: UTC time, who, action, subject, details as JSON."""
    for event, name in events:
        yield (event.at.astimezone(ZoneInfo("UTC")).isoformat(), name or "system", event.action, event.subject or "",
               json.dumps(event.details, sort_keys=True, ensure_ascii=False))
