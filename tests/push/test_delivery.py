"""Delivery: what we send (headers, VAPID, encryption) and what each push service answer does."""

from __future__ import annotations

import base64
import json
import socket
from datetime import timedelta

import http_ece
import pytest
from sqlalchemy import select

from companion.push import delivery, services
from companion.push.models import PushMessage, PushSubscription
from companion.push.worker import WorkerOptions, run
from tests.accounts.factories import make_attendee
from tests.push.factories import browser_keys
from tests.push.scripted import Answer, ScriptedPushService


@pytest.fixture
def service():
    scripted = ScriptedPushService()
    yield scripted
    scripted.stop()


def _device(db, clock, service, path: str):
    user = make_attendee().user
    p256dh, auth, private = browser_keys()
    subscription = services.subscribe(user, f"{service.url}{path}", p256dh, auth, now=clock())
    db.commit()
    return user, subscription, auth, private


def _notify(db, clock, user, key: str = "k1") -> None:
    services.notify([user.id], title="Prize", body="Come to the desk.", url="/raffle", dedupe_key=key, now=clock(),
                    expires_at=clock() + timedelta(hours=2))
    db.commit()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _message(db) -> PushMessage:
    db.expire_all()
    return db.scalars(select(PushMessage)).one()


def test_sent_message_is_encrypted_signed_and_carries_ttl_urgency(app, db, clock, service, vapid):
    user, subscription, auth, private = _device(db, clock, service, "/push/a")
    _notify(db, clock, user, "k1")
    _notify(db, clock, user, "k2")

    totals = run(app, WorkerOptions(once=True))

    assert totals.sent == 2
    first, second = service.received
    assert {k: first.headers[k] for k in ("content-encoding", "content-type", "ttl", "urgency")} == {
        "content-encoding": "aes128gcm", "content-type": "application/octet-stream", "ttl": "7200", "urgency": "high"}
    plain = sorted((json.loads(http_ece.decrypt(r.body, private_key=private, auth_secret=_b64decode(auth),
                                                version="aes128gcm")) for r in service.received), key=str)
    assert plain == [{"title": "Prize", "body": "Come to the desk.", "url": "/raffle", "tag": tag} for tag in ("k1", "k2")]
    scheme, _, params = first.headers["authorization"].partition(" ")
    token, key = (part.split("=", 1)[1] for part in params.split(","))
    claims = json.loads(_b64decode(token.split(".")[1]))
    assert (scheme, key, claims["aud"], claims["sub"]) == ("vapid", vapid.public_key, service.url,
                                                           "mailto:push@demo.conference-companion.invalid")
    assert second.headers["authorization"] == first.headers["authorization"]  # signed once per origin
    db.expire_all()
    assert db.get(PushSubscription, subscription.id).last_sent_at == clock()
    assert [m.status for m in db.scalars(select(PushMessage))] == ["sent", "sent"]


@pytest.mark.parametrize(("answer", "status", "due_after", "error"), [
    (Answer(429, {"Retry-After": "120"}, "slow down"), "pending", timedelta(seconds=120), "429 Too Many Requests: slow down"),
    (Answer(503, body="busy"), "pending", timedelta(seconds=15), "503 Service Unavailable: busy"),
    (Answer(413, body="too big"), "failed", None, "413: the message is too large for the push service"),
    (Answer(400, body="bad"), "failed", None, "400 Bad Request: bad"),
])
def test_push_service_answers(app, db, clock, service, vapid, answer, status, due_after, error):
    user, _, _, _ = _device(db, clock, service, "/push/x")
    service.answers["/push/x"] = answer
    _notify(db, clock, user)

    run(app, WorkerOptions(once=True))

    message = _message(db)
    assert (message.status, message.attempts, message.last_error, message.lease_until) == (status, 1, error, None)
    assert message.due_at == (clock() + due_after if due_after else clock())


def test_forbidden_flags_the_subscription_and_plans_nothing_more_for_it(app, db, clock, service, vapid):
    user, subscription, _, _ = _device(db, clock, service, "/push/apple")
    service.answers["/push/apple"] = Answer(403, body='{"reason":"BadJwtToken"}')
    _notify(db, clock, user, "first")

    run(app, WorkerOptions(once=True))
    later = services.notify([user.id], title="t", body="b", url="/", dedupe_key="second", now=clock())

    db.expire_all()
    flagged = db.get(PushSubscription, subscription.id)
    assert (flagged.flagged_at, flagged.flag_reason) == (clock(), '403 Forbidden: {"reason":"BadJwtToken"}')
    assert (_message(db).status, later) == ("failed", 0)


def test_gone_deletes_the_subscription_and_expires_its_other_messages(app, db, clock, service, vapid):
    user, subscription, _, _ = _device(db, clock, service, "/push/gone")
    subscription_id = subscription.id
    service.answers["/push/gone"] = Answer(410)
    _notify(db, clock, user, "now")
    services.notify([user.id], title="t", body="b", url="/", dedupe_key="later", now=clock(),
                    due_at=clock() + timedelta(hours=1))
    db.commit()

    run(app, WorkerOptions(once=True))

    db.expire_all()
    assert db.get(PushSubscription, subscription_id) is None
    assert [(m.dedupe_key, m.status, m.subscription_id) for m in db.scalars(select(PushMessage).order_by(PushMessage.id))] == [
        ("now", "expired", None), ("later", "expired", None)]


def test_no_answer_is_retried_and_timeouts_too(app, db, clock, service, vapid):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    user = make_attendee().user
    p256dh, auth, _ = browser_keys()
    services.subscribe(user, f"http://127.0.0.1:{closed}/push/none", p256dh, auth, now=clock())
    slow_user, _, _, _ = _device(db, clock, service, "/push/slow")
    service.answers["/push/slow"] = Answer(201, delay=1.5)
    db.commit()
    _notify(db, clock, user)
    _notify(db, clock, slow_user)

    run(app, WorkerOptions(once=True, timeout=0.5))

    db.expire_all()
    rows = {m.user_id: m for m in db.scalars(select(PushMessage))}
    assert [(rows[u.id].status, rows[u.id].due_at, rows[u.id].last_error.split(":")[0])
            for u in (user, slow_user)] == [
        ("pending", clock() + timedelta(seconds=15), "ClientConnectorError"),
        ("pending", clock() + timedelta(seconds=15), "TimeoutError"),
    ]


def test_retries_back_off_and_end_in_failed(app, db, clock, service, vapid):
    user, _, _, _ = _device(db, clock, service, "/push/down")
    service.answers["/push/down"] = Answer(500, body="down")
    services.notify([user.id], title="t", body="b", url="/", dedupe_key="k", now=clock(),
                    expires_at=clock() + timedelta(days=1))
    db.commit()
    waits = []
    for _ in range(delivery.MAX_ATTEMPTS):
        run(app, WorkerOptions(once=True))
        message = _message(db)
        waits.append(message.due_at - clock() if message.status == "pending" else message.status)
        clock.set(message.due_at)

    assert waits == [timedelta(seconds=15 * 2 ** n) for n in range(delivery.MAX_ATTEMPTS - 1)] + ["failed"]
    assert len(service.received) == delivery.MAX_ATTEMPTS


def test_a_claimed_batch_is_claimed_again_only_after_its_lease(app, db, clock):
    user = make_attendee().user
    p256dh, auth, _ = browser_keys()
    services.subscribe(user, "https://fcm.googleapis.com/fcm/send/x", p256dh, auth, now=clock())
    _notify(db, clock, user)

    first, _ = delivery.claim(now=clock(), limit=10)
    db.commit()
    during, _ = delivery.claim(now=clock() + timedelta(seconds=59), limit=10)
    after, _ = delivery.claim(now=clock() + timedelta(seconds=60), limit=10)
    db.commit()

    assert ([m.id for m in first], during, [m.id for m in after]) == ([_message(db).id], [], [_message(db).id])
    assert (_message(db).status, _message(db).attempts) == ("sending", 2)


def test_a_reminder_too_late_to_matter_expires_unsent(app, db, clock, service, vapid):
    user, _, _, _ = _device(db, clock, service, "/push/late")
    services.notify([user.id], title="t", body="b", url="/", dedupe_key="k", now=clock(),
                    expires_at=clock() + timedelta(minutes=1))
    db.commit()
    clock.set(clock() + timedelta(minutes=2))

    totals = run(app, WorkerOptions(once=True))

    assert (totals.sent, service.received) == (0, [])
    assert (_message(db).status, _message(db).last_error) == (
        "expired", "too late: its time was over before it could be sent")
