"""The outbox's two transactions around a send: claim due rows, then record what the push service said.

Claiming sets ``status = 'sending'`` and a lease in one statement. On PostgreSQL the rows are
picked with ``FOR UPDATE SKIP LOCKED``, so workers on any number of machines claim disjoint
batches without waiting for each other; SQLite has one writer at a time, so the same statement is
atomic there too (run one worker on SQLite all the same: it cannot send in parallel with another).
A worker killed after claiming leaves rows in ``sending``; once their lease ends they are claimed
again, so nothing is lost; a message whose request was in flight at the kill may arrive twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, and_, any_, bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from companion.database import is_postgresql
from companion.extensions import db
from companion.push.models import PushMessage, PushSubscription
from companion.push.sender import Outcome, Outgoing

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(hours=1)


@dataclass
class Recorded:
    """What one :func:`record` call did, for the worker's progress line."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    subscriptions_deleted: int = 0
    subscriptions_flagged: int = 0


def _ids_in(column: object, ids: object) -> object:
    """``column IN (ids)``; on PostgreSQL ``= ANY(:ids)``, one array parameter instead of one per id."""
    ids = list(ids)  # type: ignore[call-overload]
    if is_postgresql(db.session.get_bind()):
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))  # type: ignore[operator]
    return column.in_(ids)  # type: ignore[attr-defined]


def _due(now: datetime) -> object:
    return or_(and_(PushMessage.status == "pending", PushMessage.due_at <= now),
               and_(PushMessage.status == "sending", PushMessage.lease_until <= now))


def claim(*, now: datetime, limit: int, lease: timedelta = LEASE) -> tuple[list[Outgoing], int]:
    """Claim up to ``limit`` due messages (oldest due first) for ``lease``; the caller commits, then sends.

    Messages that can no longer be delivered (their device was deleted, or their time is over,
    such as a reminder for a session that has started) are marked expired instead.

    :return: the messages to send, and how many rows were claimed (those plus the expired ones).
    """
    candidates = select(PushMessage.id).where(_due(now)).order_by(PushMessage.due_at, PushMessage.id).limit(limit)
    if is_postgresql(db.session.get_bind()):
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = db.session.execute(
        update(PushMessage).where(PushMessage.id.in_(candidates.scalar_subquery()))
        .values(status="sending", lease_until=now + lease, attempts=PushMessage.attempts + 1)
        .returning(PushMessage.id).execution_options(synchronize_session=False)).scalars().all()
    if not claimed:
        return [], 0
    rows = db.session.execute(
        select(PushMessage.id, PushMessage.subscription_id, PushMessage.payload, PushMessage.expires_at,
               PushMessage.urgency, PushMessage.topic, PushSubscription.endpoint, PushSubscription.p256dh,
               PushSubscription.auth)
        .outerjoin(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
        .where(_ids_in(PushMessage.id, claimed)).order_by(PushMessage.due_at, PushMessage.id)).all()
    ready, gone, late = [], [], []
    for row in rows:
        ttl = int((row.expires_at - now).total_seconds())
        if row.endpoint is None:
            gone.append(row.id)
        elif ttl <= 0:
            late.append(row.id)
        else:
            ready.append(Outgoing(row.id, row.subscription_id, row.endpoint, row.p256dh, row.auth,
                                  row.payload.encode("utf-8"), ttl, row.urgency, row.topic))
    _finish(gone, "expired", now, "the device's subscription was deleted")
    _finish(late, "expired", now, "too late: its time was over before it could be sent")
    return ready, len(claimed)


def _finish(ids: Sequence[int], status: str, now: datetime, error: str | None) -> int:
    if not ids:
        return 0
    result = db.session.execute(
        update(PushMessage).where(_ids_in(PushMessage.id, ids), PushMessage.status == "sending")
        .values(status=status, finished_at=now, lease_until=None, last_error=error)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next attempt: Retry-After if the service gave one, else 15 s
    doubling per attempt, at most an hour."""
    if retry_after is not None:
        return min(timedelta(seconds=retry_after), LONGEST_RETRY)
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_RETRY)


def record(batch: Sequence[Outgoing], outcomes: Sequence[Outcome], *, now: datetime) -> Recorded:
    """Record the push services' answers; the caller commits.

    2xx: sent. 404/410: the subscription is gone (deleted, with the exact endpoint) and its
    messages expire. 413: failed (too big). 403: failed and the subscription flagged (usually the
    VAPID subject or key). 429, 5xx and no answer: back to pending after a backoff that honours
    Retry-After, until ``MAX_ATTEMPTS`` or the message's expiry; then failed. Other 4xx: failed.
    Only rows still ``sending`` are changed (a row another worker re-claimed after our lease ran
    out and finished is left as that worker recorded it).
    """
    by_id = {message.id: message for message in batch}
    # Only retries need the attempts made and the expiry: a batch of 2xx answers reads nothing back.
    attempts: dict[int, int] = {}
    expires: dict[int, datetime] = {}
    retry = [o.id for o in outcomes if o.status is None or o.status == 429 or o.status >= 500]
    if retry:
        for message_id, attempt, expiry in db.session.execute(
                select(PushMessage.id, PushMessage.attempts, PushMessage.expires_at)
                .where(_ids_in(PushMessage.id, retry))):
            attempts[message_id], expires[message_id] = attempt, expiry
    result = Recorded()
    sent, gone, too_big, forbidden, refused = [], [], [], [], defaultdict(list)
    for outcome in outcomes:
        status = outcome.status
        if status is not None and 200 <= status < 300:
            sent.append(outcome.id)
        elif status in (404, 410):
            gone.append(outcome.id)
        elif status == 413:
            too_big.append(outcome.id)
        elif status == 403:
            forbidden.append(outcome)
        elif status is None or status == 429 or status >= 500:
            retry_at = now + retry_delay(attempts.get(outcome.id, 1), outcome.retry_after)
            if attempts.get(outcome.id, 1) >= MAX_ATTEMPTS or retry_at >= expires.get(outcome.id, now):
                refused[outcome.error or f"no answer after {attempts.get(outcome.id, 1)} attempts"].append(outcome.id)
                continue
            changed = db.session.execute(
                update(PushMessage).where(PushMessage.id == outcome.id, PushMessage.status == "sending")
                .values(status="pending", due_at=retry_at, lease_until=None, last_error=outcome.error)
                .execution_options(synchronize_session=False)).rowcount
            result.retried += changed or 0
        else:
            refused[outcome.error or f"refused with {status}"].append(outcome.id)

    result.sent = _finish(sent, "sent", now, None)
    if sent:
        db.session.execute(update(PushSubscription)
                           .where(_ids_in(PushSubscription.id, {by_id[i].subscription_id for i in sent}))
                           .values(last_sent_at=now).execution_options(synchronize_session=False))
    result.failed += _finish(too_big, "failed", now, "413: the message is too large for the push service")
    for error, ids in refused.items():
        result.failed += _finish(ids, "failed", now, error)
    for outcome in forbidden:
        result.failed += _finish([outcome.id], "failed", now, outcome.error)
        result.subscriptions_flagged += db.session.execute(
            update(PushSubscription).where(PushSubscription.id == by_id[outcome.id].subscription_id)
            .values(flagged_at=now, flag_reason=(outcome.error or "403")[:300])
            .execution_options(synchronize_session=False)).rowcount or 0
    if gone:
        result.expired += _finish(gone, "expired", now, "the push service says the subscription is gone (404/410)")
        endpoints = {by_id[i].endpoint for i in gone}
        doomed = select(PushSubscription.id).where(PushSubscription.endpoint.in_(endpoints)).scalar_subquery()
        result.expired += db.session.execute(
            update(PushMessage).where(PushMessage.subscription_id.in_(doomed), PushMessage.status == "pending")
            .values(status="expired", finished_at=now, last_error="the device's subscription is gone")
            .execution_options(synchronize_session=False)).rowcount or 0
        result.subscriptions_deleted = db.session.execute(
            delete(PushSubscription).where(PushSubscription.endpoint.in_(endpoints))
            .execution_options(synchronize_session=False)).rowcount or 0
    return result
