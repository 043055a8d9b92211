"""Push health, read from the outbox and the devices: what the staff health panel shows.

Plain values in, frozen dataclasses out, so the panel, a JSON endpoint or a CLI command can show
the same figures. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from companion.extensions import db
from companion.push.models import PushMessage, PushSubscription

WINDOW = timedelta(hours=1)
LATEST_FAILURES = 10
FLAGGED_LISTED = 50
CAUSES_LISTED = 10
FINISHED = ("sent", "failed", "expired")


@dataclass(frozen=True)
class HostCount:
    """Devices of one push service (``fcm.googleapis.com``, ``web.push.apple.com``, ...)."""

    host: str
    live: int  # not flagged: messages are planned for them
    flagged: int


@dataclass(frozen=True)
class FlaggedDevice:
    """A device the push service refused with 403: nothing more is planned for it until it subscribes again.

    Only the push service's host is kept here: the full endpoint is a capability URL.
    """

    host: str
    flagged_at: datetime
    reason: str | None


@dataclass(frozen=True)
class Failure:
    """A message that failed for good, and what the push service (or the worker) said."""

    finished_at: datetime | None
    kind: str
    host: str | None  # None once the device's subscription was deleted
    error: str | None


@dataclass(frozen=True)
class Cause:
    """One error text and how many messages failed with it in the window."""

    error: str | None
    count: int


@dataclass(frozen=True)
class PushHealth:
    """The push health panel's figures at ``now``; "last hour" is ``[now - 1 h, now]`` by ``finished_at``."""

    now: datetime
    hosts: tuple[HostCount, ...]  # most live devices first
    sent: int  # finished in the last hour, by final status
    failed: int
    expired: int
    pending: int  # the queue: waiting (due or not yet due) ...
    sending: int  # ... and claimed by a worker
    due: int  # pending and due now: what workers should be sending
    oldest_due_at: datetime | None  # the longest-waiting due pending message
    flagged: tuple[FlaggedDevice, ...]  # newest first, at most FLAGGED_LISTED
    flagged_total: int
    failures: tuple[Failure, ...]  # the latest LATEST_FAILURES, newest first
    causes: tuple[Cause, ...]  # last hour's failures grouped by error, most frequent first

    @property
    def live(self) -> int:
        """Devices messages are planned for (every host)."""
        return sum(host.live for host in self.hosts)

    @property
    def queue_depth(self) -> int:
        """Messages not finished yet: pending plus sending."""
        return self.pending + self.sending

    @property
    def oldest_due_age(self) -> timedelta | None:
        """How long the longest-waiting due message has waited, or None when nothing is due."""
        return None if self.oldest_due_at is None else self.now - self.oldest_due_at


@dataclass(frozen=True)
class Delivery:
    """What became of one announcement's messages (one per device)."""

    sent: int = 0
    failed: int = 0
    expired: int = 0
    waiting: int = 0  # pending or sending

    @property
    def devices(self) -> int:
        return self.sent + self.failed + self.expired + self.waiting


def _hosts() -> tuple[HostCount, ...]:
    live = func.sum(case((PushSubscription.flagged_at.is_(None), 1), else_=0))
    rows = db.session.execute(
        select(PushSubscription.service_host, live.label("live"), func.count().label("total"))
        .group_by(PushSubscription.service_host)).all()
    counts = [HostCount(row.service_host, int(row.live or 0), int(row.total) - int(row.live or 0)) for row in rows]
    return tuple(sorted(counts, key=lambda c: (-c.live, -c.flagged, c.host)))


def _finished(now: datetime) -> dict[str, int]:
    rows = db.session.execute(
        select(PushMessage.status, func.count())
        .where(PushMessage.status.in_(FINISHED), PushMessage.finished_at >= now - WINDOW,
               PushMessage.finished_at <= now)
        .group_by(PushMessage.status)).all()
    return {status: int(n) for status, n in rows}


def _queue(now: datetime) -> tuple[int, int, int, datetime | None]:
    by_status = dict(db.session.execute(
        select(PushMessage.status, func.count()).where(PushMessage.status.in_(("pending", "sending")))
        .group_by(PushMessage.status)).all())
    due, oldest = db.session.execute(
        select(func.count(), func.min(PushMessage.due_at))
        .where(PushMessage.status == "pending", PushMessage.due_at <= now)).one()
    return int(by_status.get("pending", 0)), int(by_status.get("sending", 0)), int(due), oldest


def _flagged() -> tuple[tuple[FlaggedDevice, ...], int]:
    flagged = PushSubscription.flagged_at.is_not(None)
    total = db.session.scalar(select(func.count()).select_from(PushSubscription).where(flagged)) or 0
    rows = db.session.execute(
        select(PushSubscription.service_host, PushSubscription.flagged_at, PushSubscription.flag_reason)
        .where(flagged).order_by(PushSubscription.flagged_at.desc(), PushSubscription.id.desc())
        .limit(FLAGGED_LISTED)).all()
    return tuple(FlaggedDevice(*row) for row in rows), int(total)


def _failures() -> tuple[Failure, ...]:
    rows = db.session.execute(
        select(PushMessage.finished_at, PushMessage.kind, PushSubscription.service_host, PushMessage.last_error)
        .outerjoin(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
        .where(PushMessage.status == "failed")
        # NULLs last on both databases: a failed row always has finished_at, but do not trust it.
        .order_by(PushMessage.finished_at.is_(None), PushMessage.finished_at.desc(), PushMessage.id.desc())
        .limit(LATEST_FAILURES)).all()
    return tuple(Failure(*row) for row in rows)


def _causes(now: datetime) -> tuple[Cause, ...]:
    n = func.count().label("n")
    rows = db.session.execute(
        select(PushMessage.last_error, n)
        .where(PushMessage.status == "failed", PushMessage.finished_at >= now - WINDOW, PushMessage.finished_at <= now)
        .group_by(PushMessage.last_error).order_by(n.desc(), PushMessage.last_error)
        .limit(CAUSES_LISTED)).all()
    return tuple(Cause(error, int(count)) for error, count in rows)


def push_health(now: datetime) -> PushHealth:
    """Everything the push health panel shows, at ``now``.

    - devices by push service host (live = not flagged), and the flagged ones (host, when, why);
    - messages finished in the last hour (``now - 1 h <= finished_at <= now``) by final status;
    - the queue: pending and sending rows, how many pending rows are due, and the oldest due one;
    - the latest failed messages with their error, and the last hour's failures grouped by error.

    :param now: the moment the panel describes (aware, UTC).
    """
    finished = _finished(now)
    pending, sending, due, oldest = _queue(now)
    flagged, flagged_total = _flagged()
    return PushHealth(now=now, hosts=_hosts(), sent=finished.get("sent", 0), failed=finished.get("failed", 0),
                      expired=finished.get("expired", 0), pending=pending, sending=sending, due=due,
                      oldest_due_at=oldest, flagged=flagged, flagged_total=flagged_total, failures=_failures(),
                      causes=_causes(now))


def announcement_deliveries(codes: Sequence[str]) -> dict[str, Delivery]:
    """What became of the messages of the announcements ``codes`` (codes without messages are left out).

    An announcement's messages carry the dedupe key ``announcement:<code>``, one per device.
    """
    if not codes:
        return {}
    keys = {f"announcement:{code}": code for code in codes}
    rows = db.session.execute(
        select(PushMessage.dedupe_key, PushMessage.status, func.count())
        .where(PushMessage.kind == "announcement", PushMessage.dedupe_key.in_(list(keys)))
        .group_by(PushMessage.dedupe_key, PushMessage.status)).all()
    counts: dict[str, dict[str, int]] = {}
    for key, status, n in rows:
        bucket = counts.setdefault(keys[key], {})
        name = "waiting" if status in ("pending", "sending") else status
        bucket[name] = bucket.get(name, 0) + int(n)
    return {code: Delivery(**bucket) for code, bucket in counts.items()}
