"""Push API: subscribe (several devices, once per endpoint), unsubscribe, renew, preferences, bad input."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db as _db
from companion.push import announcements, services
from companion.push.models import PushMessage, PushPreferences, PushSubscription
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.concurrency import run_at_once
from tests.push.factories import browser_keys

PROBLEM = "application/problem+json"
SUBSCRIBED_AT = datetime(2026, 4, 7, 6, 0, tzinfo=UTC)


@pytest.fixture
def me(db, client):
    user = make_attendee(email="ada@example.org").user
    sign_in(client, user)
    user.csrf = csrf_from(client.get("/agenda").get_data(as_text=True))
    return user


def _subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc") -> dict:
    p256dh, auth, _ = browser_keys()
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": p256dh, "auth": auth}}


def _rows(db) -> list[tuple]:
    db.expire_all()
    return [(s.user_id, s.endpoint, s.p256dh, s.auth, s.service_host)
            for s in db.scalars(select(PushSubscription).order_by(PushSubscription.id))]


def test_subscribe_two_devices_and_again_updates(client, db, me):
    phone, laptop = _subscription(), _subscription("https://updates.push.services.mozilla.com/wpush/v2/x")
    renewed_keys = _subscription()["keys"]
    headers = {"X-CSRFToken": me.csrf}

    answers = [client.post("/api/v1/push/subscriptions", json=body, headers=headers).get_json()
               for body in (phone, laptop, {**phone, "keys": renewed_keys})]

    assert answers == [{"subscribed": True, "devices": 1}, {"subscribed": True, "devices": 2},
                       {"subscribed": True, "devices": 2}]
    assert _rows(db) == [
        (me.id, phone["endpoint"], renewed_keys["p256dh"], renewed_keys["auth"], "fcm.googleapis.com"),
        (me.id, laptop["endpoint"], laptop["keys"]["p256dh"], laptop["keys"]["auth"], "updates.push.services.mozilla.com"),
    ]


def test_unsubscribe_without_an_endpoint_is_a_bad_request(client, db, me):
    answer = client.delete("/api/v1/push/subscriptions", json={}, headers={"X-CSRFToken": me.csrf})
    assert (answer.status_code, answer.mimetype, answer.get_json()["errors"]) == (
        400, PROBLEM, [{"loc": "endpoint", "msg": "Field required"}])


def test_unsubscribe_is_idempotent_and_only_mine(client, db, me):
    other = make_user()
    services.subscribe(other, "https://fcm.googleapis.com/fcm/send/theirs", *_subscription()["keys"].values(),
                       now=SUBSCRIBED_AT)
    db.commit()
    mine = _subscription()
    headers = {"X-CSRFToken": me.csrf}
    client.post("/api/v1/push/subscriptions", json=mine, headers=headers)

    answers = [client.delete("/api/v1/push/subscriptions", json={"endpoint": e}, headers=headers).get_json()
               for e in (mine["endpoint"], mine["endpoint"], "https://fcm.googleapis.com/fcm/send/theirs")]

    assert answers == [{"removed": True, "devices": 0}, {"removed": False, "devices": 0},
                       {"removed": False, "devices": 0}]
    assert [row[1] for row in _rows(db)] == ["https://fcm.googleapis.com/fcm/send/theirs"]


@pytest.mark.parametrize(("body", "loc", "says"), [
    ({"endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "endpoint", "must be an https:// address"),
    ({"endpoint": "https://192.168.1.20/push"}, "endpoint", "is a private or local address"),
    ({"endpoint": "https://localhost/push"}, "endpoint", "is a private or local address"),
    ({"keys": {"p256dh": "c2hvcnQ", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh", "must be 65 bytes, not 5"),
    ({"keys": {"p256dh": "B" + "A" * 86, "auth": "AAAA"}}, "keys.auth", "must be 16 bytes"),
    ({"keys": {"p256dh": "BA" + "A" * 85, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh", "not a point on the P-256"),
    ({"keys": {"p256dh": "!!not base64!!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "keys.p256dh", "not base64url"),
])
def test_malformed_subscription_is_refused_with_the_reason(app, client, db, me, body, loc, says):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = False  # as in production
    try:
        answer = client.post("/api/v1/push/subscriptions", json={**_subscription(), **body},
                             headers={"X-CSRFToken": me.csrf})
    finally:
        app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = None
    problem = answer.get_json()
    assert (answer.status_code, answer.mimetype, problem["errors"][0]["loc"]) == (400, PROBLEM, loc)
    assert says in problem["detail"]
    assert _rows(db) == []


def test_missing_keys_are_a_validation_error(client, db, me):
    answer = client.post("/api/v1/push/subscriptions", json={"endpoint": "https://fcm.googleapis.com/x"},
                         headers={"X-CSRFToken": me.csrf})
    assert (answer.status_code, answer.mimetype) == (400, PROBLEM)
    assert "keys" in str(answer.get_json()["errors"])
    assert _rows(db) == []


def test_signed_out_and_without_csrf_are_refused(client, db):
    user = make_attendee().user
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    signed_out = client.post("/api/v1/push/subscriptions", json=_subscription(), headers={"X-CSRFToken": token})
    sign_in(client, user)
    no_csrf = client.post("/api/v1/push/subscriptions", json=_subscription())

    assert (signed_out.status_code, no_csrf.status_code) == (401, 400)
    assert _rows(db) == []


def test_renew_moves_the_device_to_its_new_subscription_without_sign_in(client, db, me):
    old = _subscription()
    client.post("/api/v1/push/subscriptions", json=old, headers={"X-CSRFToken": me.csrf})
    new = _subscription("https://fcm.googleapis.com/fcm/send/renewed")
    anonymous = client.application.test_client()  # the service worker: no session, no CSRF token
    renewed = anonymous.post("/api/v1/push/subscriptions/renew", json={"old_endpoint": old["endpoint"], "subscription": new})
    unknown = anonymous.post("/api/v1/push/subscriptions/renew",
                             json={"old_endpoint": "https://fcm.googleapis.com/fcm/send/never", "subscription": new})

    assert (renewed.status_code, renewed.get_json()) == (200, {"subscribed": True, "devices": 1})
    assert (unknown.status_code, unknown.get_json()["errors"]) == (404, [{"loc": "old_endpoint", "msg": "unknown"}])
    assert _rows(db) == [(me.id, new["endpoint"], new["keys"]["p256dh"], new["keys"]["auth"], "fcm.googleapis.com")]


def test_preferences_round_trip_and_bad_lead_time(client, db, me):
    headers = {"X-CSRFToken": me.csrf}
    default = client.get("/api/v1/push/preferences").get_json()
    chosen = {"reminders": True, "lead_minutes": 15, "change_alerts": False, "announcements": True}
    saved = client.put("/api/v1/push/preferences", json=chosen, headers=headers)
    bad = client.put("/api/v1/push/preferences", json={**chosen, "lead_minutes": 7}, headers=headers)

    assert default == {"reminders": True, "lead_minutes": 10, "change_alerts": True, "announcements": True}
    assert (saved.status_code, saved.get_json()) == (200, chosen)
    assert (bad.status_code, bad.get_json()["errors"][0]["loc"]) == (400, "lead_minutes")
    db.expire_all()
    row = db.get(PushPreferences, me.id)
    assert (row.reminders, row.lead_minutes, row.change_alerts, row.announcements) == (True, 15, False, True)


def test_key_is_the_public_vapid_key(client, vapid):
    assert client.get("/api/v1/push/key").get_json() == {"applicationServerKey": vapid.public_key}


def test_twenty_concurrent_subscriptions_of_one_device_leave_one_row(app, db):
    user_id = make_attendee().user_id
    body = _subscription()

    def subscribe(_: int) -> None:
        services.subscribe(_db.session.get(User, user_id), body["endpoint"], body["keys"]["p256dh"],
                           body["keys"]["auth"], now=SUBSCRIBED_AT)

    run_at_once(app, 20, subscribe)
    assert [row[1] for row in _rows(db)] == [body["endpoint"]]


def test_payload_over_3kb_is_refused_at_composition(db):
    with pytest.raises(services.PushInputError) as refused:
        services.compose("Title", "x" * 3100, "/")
    assert (refused.value.loc, str(refused.value)) == (
        "body", "The message is 3148 bytes; push services take at most 3072. Shorten the title or the text.")
    assert db.scalars(select(PushMessage)).all() == []


def test_announcement_to_an_empty_audience_says_so(db, clock):
    staff = make_user(role="staff")
    make_attendee()  # nobody has a device
    with pytest.raises(services.PushInputError) as refused:
        announcements.create_announcement(staff, title="Hi", body="Lunch is served.", link=None, audience="everyone",
                                          send_at=None, now=clock(), rng=random.Random(1))
    assert (refused.value.loc, str(refused.value)) == (
        "audience", "Nobody in “Everyone” has notifications turned on: there is no one to send this to.")


def test_subscribing_is_limited_per_person_not_per_address(client, db, me):
    headers = {"X-CSRFToken": me.csrf}
    statuses = [client.post("/api/v1/push/subscriptions", json=_subscription(f"https://fcm.googleapis.com/fcm/send/{n}"),
                            headers=headers).status_code for n in range(31)]
    neighbour = client.application.test_client()  # another phone on the same Wi-Fi (same address)
    neighbour.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    other = make_attendee().user
    sign_in(neighbour, other)
    token = csrf_from(neighbour.get("/agenda").get_data(as_text=True))
    theirs = neighbour.post("/api/v1/push/subscriptions", json=_subscription(), headers={"X-CSRFToken": token})

    assert statuses == [201] * 30 + [429]
    assert theirs.status_code == 201
    assert len(_rows(db)) == 31
