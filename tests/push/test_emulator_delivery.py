"""End to end through the real push service emulator: plan, claim, encrypt, sign, send, record."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from companion.agenda import services as agenda
from companion.push import services
from companion.push.models import PushMessage, PushSubscription
from companion.push.worker import WorkerOptions, run
from companion.schedule.models import Session
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.factories import DAY_ONE, load_schedule


def _keynote(db) -> Session:
    return db.scalars(select(Session).where(Session.source_key == "s-keynote")).one()


def test_reminder_arrives_once_with_its_exact_payload(app, db, client, clock, new_device, push_emulator):
    load_schedule()
    user = make_attendee().user
    keynote = _keynote(db)
    clock.set(DAY_ONE - timedelta(minutes=20))  # 08:40 in Paris; the keynote starts at 09:00
    agenda.star(user, keynote, now=clock())
    db.commit()
    device = new_device()
    sign_in(client, user)
    csrf = csrf_from(client.get("/agenda").get_data(as_text=True))
    answer = client.post("/api/v1/push/subscriptions", json=device.as_json(), headers={"X-CSRFToken": csrf})
    assert (answer.status_code, answer.get_json()) == (201, {"subscribed": True, "devices": 1})

    early = run(app, WorkerOptions(once=True))  # the reminder is due at 08:50: not yet planned
    clock.set(DAY_ONE - timedelta(minutes=10))
    due = run(app, WorkerOptions(once=True))
    again = run(app, WorkerOptions(once=True))

    assert (early.sent, due.sent, again.sent) == (0, 1, 0)
    assert [json.loads(m) for m in push_emulator.notifications(device.client_hash)] == [{
        "title": "Opening Keynote", "body": "Starts at 09:00 in Master Stage.",
        "url": f"/sessions/{keynote.code}", "tag": f"session-{keynote.code}",
    }]
    db.expire_all()
    message = db.scalars(select(PushMessage)).one()
    assert (message.kind, message.status, message.attempts, message.topic, message.expires_at) == (
        "reminder", "sent", 1, f"session-{keynote.code}", keynote.starts_at)


def test_expired_subscription_is_deleted_and_its_message_expired(app, db, clock, new_device, push_emulator):
    user = make_attendee().user
    device = new_device()
    services.subscribe(user, device.endpoint, device.p256dh, device.auth, now=clock())
    db.commit()
    push_emulator.expire(device.client_hash)

    services.notify([user.id], title="Raffle", body="You won!", url="/", dedupe_key="raffle:1", now=clock())
    db.commit()
    totals = run(app, WorkerOptions(once=True))

    db.expire_all()
    assert (totals.sent, totals.expired, totals.subscriptions_deleted) == (0, 1, 1)
    assert db.scalars(select(PushSubscription)).all() == []
    message = db.scalars(select(PushMessage)).one()
    assert (message.status, message.subscription_id, message.last_error) == (
        "expired", None, "the push service says the subscription is gone (404/410)")
    assert push_emulator.notifications(device.client_hash) == []


def test_an_encryption_process_encrypts_what_the_worker_sends(app, db, clock, new_device, push_emulator):
    devices = [new_device() for _ in range(3)]
    people = [make_attendee().user for _ in devices]
    for person, device in zip(people, devices, strict=True):
        services.subscribe(person, device.endpoint, device.p256dh, device.auth, now=clock())
    services.notify([p.id for p in people], title="Doors open", body="Welcome!", url="/schedule",
                    dedupe_key="doors", now=clock())
    db.commit()

    totals = run(app, WorkerOptions(once=True, encrypt_processes=1))

    assert totals.sent == 3
    assert [[json.loads(m) for m in push_emulator.notifications(d.client_hash)] for d in devices] == [
        [{"title": "Doors open", "body": "Welcome!", "url": "/schedule", "tag": "doors"}]] * 3
