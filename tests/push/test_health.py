"""push_health() and announcement_deliveries(): the health panel's figures, from rows made here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from companion.accounts.models import User
from companion.extensions import db as _db
from companion.push.health import (
    Cause,
    Delivery,
    Failure,
    FlaggedDevice,
    HostCount,
    PushHealth,
    announcement_deliveries,
    push_health,
)
from companion.push.models import PushMessage, PushSubscription
from tests.accounts.factories import make_user

NOW = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)
FCM = "fcm.googleapis.com"
APPLE = "web.push.apple.com"
MOZILLA = "updates.push.services.mozilla.com"
_serial = count(1)


def subscribe(user: User, host: str = FCM, *, flagged_at: datetime | None = None,
              reason: str | None = None) -> PushSubscription:
    """A device of ``user`` at push service ``host`` (committed), inserted as the subscribe service would."""
    n = next(_serial)
    row = PushSubscription(user_id=user.id, endpoint=f"https://{host}/fcm/send/device-{n}", p256dh=f"p256dh-{n}",
                           auth=f"auth-{n}", service_host=host, created_at=NOW - timedelta(days=1),
                           flagged_at=flagged_at, flag_reason=reason)
    _db.session.add(row)
    _db.session.commit()
    return row


def message(user: User, status: str, *, due_at: datetime = NOW, finished_at: datetime | None = None,
            subscription: PushSubscription | None = None, last_error: str | None = None, kind: str = "notice",
            dedupe_key: str | None = None) -> PushMessage:
    """An outbox row (committed) with what the worker would have set for ``status``."""
    row = PushMessage(kind=kind, subscription_id=subscription.id if subscription else None, user_id=user.id,
                      dedupe_key=dedupe_key or f"test:{next(_serial)}", payload='{"title":"t","body":"b"}',
                      due_at=due_at, expires_at=due_at + timedelta(hours=6), status=status,
                      attempts=0 if status == "pending" else 1, last_error=last_error,
                      lease_until=NOW + timedelta(seconds=60) if status == "sending" else None,
                      created_at=due_at - timedelta(minutes=1), finished_at=finished_at)
    _db.session.add(row)
    _db.session.commit()
    return row


def test_push_health_of_an_empty_outbox_is_all_zero(db):
    assert push_health(NOW) == PushHealth(now=NOW, hosts=(), sent=0, failed=0, expired=0, pending=0, sending=0, due=0,
                                          oldest_due_at=None, flagged=(), flagged_total=0, failures=(), causes=())
    assert (push_health(NOW).live, push_health(NOW).queue_depth, push_health(NOW).oldest_due_age) == (0, 0, None)


def test_push_health_counts_devices_by_host_live_and_flagged(db):
    ada, grace = make_user(), make_user()
    for _ in range(3):
        subscribe(ada, FCM)
    subscribe(grace, FCM, flagged_at=NOW - timedelta(minutes=5), reason="403: VAPID subject refused")
    subscribe(grace, APPLE)
    subscribe(ada, APPLE)
    subscribe(ada, MOZILLA, flagged_at=NOW - timedelta(minutes=1), reason=None)

    health = push_health(NOW)

    assert health.hosts == (HostCount(FCM, 3, 1), HostCount(APPLE, 2, 0), HostCount(MOZILLA, 0, 1))
    assert (health.live, health.flagged_total) == (5, 2)
    assert health.flagged == (FlaggedDevice(MOZILLA, NOW - timedelta(minutes=1), None),
                              FlaggedDevice(FCM, NOW - timedelta(minutes=5), "403: VAPID subject refused"))


def test_push_health_counts_the_last_hour_by_final_status_with_both_ends_included(db):
    ada = make_user()
    hour = timedelta(hours=1)
    for finished in (NOW, NOW - hour, NOW - timedelta(minutes=30)):
        message(ada, "sent", finished_at=finished)
    message(ada, "sent", finished_at=NOW - hour - timedelta(seconds=1))  # too old
    message(ada, "sent", finished_at=NOW + timedelta(seconds=1))  # not yet (a clock running ahead)
    message(ada, "failed", finished_at=NOW - timedelta(minutes=2), last_error="413: too large")
    message(ada, "failed", finished_at=NOW - timedelta(hours=2), last_error="413: too large")
    for _ in range(4):
        message(ada, "expired", finished_at=NOW - timedelta(minutes=59), last_error="gone (404/410)")

    health = push_health(NOW)

    assert (health.sent, health.failed, health.expired) == (3, 1, 4)


def test_push_health_measures_the_queue_and_the_oldest_due_message(db):
    ada = make_user()
    message(ada, "pending", due_at=NOW - timedelta(minutes=3, seconds=20))
    message(ada, "pending", due_at=NOW - timedelta(seconds=5))
    message(ada, "pending", due_at=NOW)  # due exactly now
    message(ada, "pending", due_at=NOW + timedelta(minutes=4))  # planned ahead, not due
    message(ada, "sending", due_at=NOW - timedelta(hours=1))  # claimed: not "waiting"
    message(ada, "sent", due_at=NOW - timedelta(hours=2), finished_at=NOW - timedelta(hours=2))

    health = push_health(NOW)

    assert (health.pending, health.sending, health.queue_depth, health.due) == (4, 1, 5, 3)
    assert health.oldest_due_at == NOW - timedelta(minutes=3, seconds=20)
    assert health.oldest_due_age == timedelta(minutes=3, seconds=20)


def test_push_health_lists_the_latest_ten_failures_newest_first_with_their_host(db):
    ada = make_user()
    device = subscribe(ada, APPLE)
    for minute in range(12):
        message(ada, "failed", finished_at=NOW - timedelta(minutes=minute), subscription=device if minute % 2 else None,
                last_error=f"error {minute}", kind="reminder")
    message(ada, "expired", finished_at=NOW, last_error="not a failure")

    failures = push_health(NOW).failures

    assert failures == tuple(Failure(NOW - timedelta(minutes=m), "reminder", APPLE if m % 2 else None, f"error {m}")
                             for m in range(10))


def test_push_health_groups_the_last_hours_failures_by_cause(db):
    ada = make_user()
    for error, times in (("403: VAPID subject refused", 3), ("413: too large", 1), (None, 2)):
        for _ in range(times):
            message(ada, "failed", finished_at=NOW - timedelta(minutes=10), last_error=error)
    message(ada, "failed", finished_at=NOW - timedelta(hours=3), last_error="413: too large")

    assert push_health(NOW).causes == (Cause("403: VAPID subject refused", 3), Cause(None, 2),
                                       Cause("413: too large", 1))


def test_announcement_deliveries_count_each_announcements_messages_by_outcome(db):
    ada = make_user()
    devices = [subscribe(ada) for _ in range(5)]
    for device, status in zip(devices, ("sent", "sent", "failed", "pending", "sending"), strict=True):
        message(ada, status, subscription=device, kind="announcement", dedupe_key="announcement:RAFFLE15",
                finished_at=NOW if status in ("sent", "failed") else None)
    message(ada, "expired", subscription=devices[0], kind="announcement", dedupe_key="announcement:KEYNOTE9",
            finished_at=NOW)
    message(ada, "sent", subscription=devices[1], kind="notice", dedupe_key="announcement:KEYNOTE9", finished_at=NOW)

    deliveries = announcement_deliveries(["RAFFLE15", "KEYNOTE9", "NOTHING0"])

    assert deliveries == {"RAFFLE15": Delivery(sent=2, failed=1, expired=0, waiting=2),
                          "KEYNOTE9": Delivery(sent=0, failed=0, expired=1, waiting=0)}
    assert deliveries["RAFFLE15"].devices == 5
    assert announcement_deliveries([]) == {}
