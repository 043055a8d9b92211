"""Keeping keys and answers: reserve a key, store its answer, let it go, purge expired ones.

Every function takes its own short-lived :class:`~sqlalchemy.Connection` and commits on it, apart
from the request's session: the key must be taken before the action runs (so a second request
with it waits instead of acting too) and its answer stored after the action committed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, delete, select, update

from companion.database import insert_or_nothing
from companion.idempotency.models import IdempotencyKey

KEYS = IdempotencyKey.__table__

Outcome = Literal["run", "replay", "mismatch", "running"]


@dataclass(frozen=True)
class Answer:
    """A stored answer: status, content type, the headers worth repeating, and the body."""

    status_code: int
    content_type: str | None
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reservation:
    """What to do with a request: ``run`` it (this request holds the key as ``key_id``/``owner``),
    ``replay`` the stored ``answer``, refuse it (``mismatch``: another request had this key) or wait
    (``running``: the first request with this key has not answered yet)."""

    outcome: Outcome
    key_id: int | None = None
    owner: str | None = None
    answer: Answer | None = None


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 (hex) of the request's method, path with query string, and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))  # lengths first: no two requests share a digest
        digest.update(part)
    return digest.hexdigest()


def reserve(connection: Connection, *, scope: str, key: str, request_fingerprint: str, owner: str,
            now: datetime, ttl: timedelta, stale_after: timedelta) -> Reservation:
    """Take ``key`` for this request, or say why not.

    The first request inserts the row (``INSERT ... ON CONFLICT DO NOTHING`` on (scope, key), so of
    many at once exactly one gets it). An expired key is taken over like a new one; so is a key
    whose request has held it longer than ``stale_after`` without answering (its process died):
    each takeover is a conditional UPDATE, so again only one request wins.
    """
    for _ in range(5):  # a row can change between our statements; a few rounds always settle it
        values = {"scope": scope, "key": key, "fingerprint": request_fingerprint, "owner": owner,
                  "locked_at": now, "expires_at": now + ttl}
        inserted = connection.execute(insert_or_nothing(connection, IdempotencyKey, values,
                                                        conflict_columns=("scope", "key"))).first()
        connection.commit()
        if inserted is not None:
            return Reservation("run", key_id=inserted[0], owner=owner)
        row = connection.execute(select(KEYS).where(KEYS.c.scope == scope, KEYS.c.key == key)).first()
        connection.commit()
        if row is None:
            continue  # purged between the two statements: insert again
        if row.expires_at <= now:
            if _take_over(connection, row, values, KEYS.c.expires_at <= now):
                return Reservation("run", key_id=row.id, owner=owner)
            continue
        if row.fingerprint != request_fingerprint:
            return Reservation("mismatch")
        if row.status_code is not None:
            return Reservation("replay", answer=Answer(row.status_code, row.content_type,
                                                       json.loads(row.headers or "{}"), row.body or b""))
        if row.locked_at <= now - stale_after and row.committed_at is None:
            # Its request died before its action committed: nothing happened, run it.
            if _take_over(connection, row, values, KEYS.c.completed_at.is_(None) & KEYS.c.committed_at.is_(None)):
                return Reservation("run", key_id=row.id, owner=owner)
            continue
        return Reservation("running")
    return Reservation("running")


def _take_over(connection: Connection, row, values: dict, condition) -> bool:  # noqa: ANN001 - a Row, a clause
    result = connection.execute(
        update(KEYS).where(KEYS.c.id == row.id, KEYS.c.owner == row.owner, condition)
        .values(**values, status_code=None, content_type=None, headers=None, body=None, completed_at=None,
                committed_at=None))
    connection.commit()
    return result.rowcount == 1


def commit_statement(*, key_id: int, owner: str, now: datetime):  # noqa: ANN201 - an Update
    """The UPDATE that marks the key's action as committed, run inside the action's own
    transaction: it changes no row if another request took the key over meanwhile."""
    return (update(KEYS).where(KEYS.c.id == key_id, KEYS.c.owner == owner, KEYS.c.completed_at.is_(None))
            .values(committed_at=now))


def store_answer(connection: Connection, *, key_id: int, owner: str, answer: Answer, now: datetime) -> bool:
    """Keep ``answer`` for the key this request holds; False if another request took the key over."""
    result = connection.execute(
        update(KEYS).where(KEYS.c.id == key_id, KEYS.c.owner == owner, KEYS.c.completed_at.is_(None))
        .values(status_code=answer.status_code, content_type=answer.content_type,
                headers=json.dumps(answer.headers, sort_keys=True), body=answer.body, completed_at=now))
    connection.commit()
    return result.rowcount == 1


def release(connection: Connection, *, key_id: int, owner: str) -> None:
    """Let the key go without an answer (the request did not commit an action): the next
    request with it runs as if it were the first. A key whose action committed is kept."""
    connection.execute(delete(KEYS).where(KEYS.c.id == key_id, KEYS.c.owner == owner, KEYS.c.completed_at.is_(None),
                                          KEYS.c.committed_at.is_(None)))
    connection.commit()


def purge_expired(connection: Connection, *, now: datetime) -> int:
    """Delete every expired key; returns how many."""
    result = connection.execute(delete(KEYS).where(KEYS.c.expires_at <= now))
    connection.commit()
    return result.rowcount
