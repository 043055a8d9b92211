"""The hunt JSON API: stamping with a booth code (201 new, 200 already), refusals as problem+json,
the per-attendee rate limit, access and CSRF, and my card for today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from companion.hunt import codes
from companion.hunt.models import Stamp
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.hunt.conftest import code_at
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station

NINE_UTC = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # 11:00 in Paris, conference day one


def _csrf(client) -> str:
    return csrf_from(client.get("/hunt").text)


def _post(client, body: dict, csrf: str | None):
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post("/api/v1/hunt/stamps", json=body, headers=headers)


def _stamps(db) -> list[tuple]:
    db.expire_all()
    return [(s.user_id, s.station_id, s.day, s.stamped_at, s.method, s.stamped_by_id, s.share_contact)
            for s in db.scalars(select(Stamp).order_by(Stamp.id))]


def test_stamp_is_201_then_200_already_with_the_first_time(client, db, clock, ada, acme):
    foundation = make_station("PyTorch Foundation", required=True, location=None)
    clock.set(NINE_UTC)
    sign_in(client, ada)
    csrf = _csrf(client)

    first = _post(client, {"code": code_at(acme, NINE_UTC)}, csrf)
    clock.set(NINE_UTC + timedelta(minutes=42))
    again = _post(client, {"code": code_at(acme, clock()), "share_contact": True}, csrf)

    card = {"day": "2026-04-07", "needed": 2, "stamped": 1, "complete": False, "stations": [
        {"code": acme.code, "name": "Acme AI", "location": "Expo hall, booth B12", "required": False,
         "stamped_at": "2026-04-07T09:00:00Z"},
        {"code": foundation.code, "name": "PyTorch Foundation", "location": None, "required": True,
         "stamped_at": None},
    ]}
    assert (first.status_code, first.json) == (201, {
        "station": acme.code, "station_name": "Acme AI", "already": False, "stamped_at": "2026-04-07T09:00:00Z",
        "message": "Stamped at Acme AI.", "card": card})
    assert (again.status_code, again.json) == (200, {
        "station": acme.code, "station_name": "Acme AI", "already": True, "stamped_at": "2026-04-07T09:00:00Z",
        "message": "Already stamped at Acme AI at 11:00.", "card": card})
    # One stamp; agreeing to share at the second scan counts.
    assert _stamps(db) == [(ada.id, acme.id, DAY_ONE, NINE_UTC, "code", None, True)]


def test_completing_the_card_says_so(client, db, clock, ada, acme):
    foundation = make_station("PyTorch Foundation", required=True)
    sign_in(client, ada)
    csrf = _csrf(client)

    _post(client, {"code": code_at(acme, clock())}, csrf)
    last = _post(client, {"code": code_at(foundation, clock())}, csrf)

    assert (last.status_code, last.json["message"]) == (201, "Stamped at PyTorch Foundation.")
    assert {k: last.json["card"][k] for k in ("needed", "stamped", "complete")} == {
        "needed": 2, "stamped": 2, "complete": True}


@pytest.mark.parametrize("scanned", [
    "http://127.0.0.1:5000/h/{code}", "https://conf.example.org/h/{code}?utm=x", "  {code}\n", "/h/{code}#top",
    "https://conf.example.org/h/{code}/",
])
def test_the_booth_url_or_the_code_both_stamp(client, db, ada, acme, clock, scanned):
    sign_in(client, ada)

    response = _post(client, {"code": scanned.format(code=code_at(acme, clock()))}, _csrf(client))

    assert (response.status_code, response.json["message"]) == (201, "Stamped at Acme AI.")
    assert [row[:2] for row in _stamps(db)] == [(ada.id, acme.id)]


def _problem(reason: str, message: str) -> dict:
    return {"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": message,
            "errors": [{"loc": "code", "msg": message, "reason": reason}]}


def test_refusals_name_the_reason_and_change_nothing(client, db, ada, acme, clock):
    later = make_station("Hugging Face", days=[DAY_TWO])
    other = make_station("Other Booth")
    sign_in(client, ada)
    csrf = _csrf(client)
    now = clock()
    forged = f"{acme.code}.{codes.window_of(now)}.{'A' * 16}"
    foreign = codes.rotating_code("ZZZZ99", "00" * 32, codes.window_of(now))
    other_stations_mac = code_at(other, now).replace(other.code, acme.code, 1)

    answers = {
        "malformed": _post(client, {"code": "hello, booth"}, csrf),
        "forged": _post(client, {"code": forged}, csrf),
        "foreign": _post(client, {"code": foreign}, csrf),
        "other station's mac": _post(client, {"code": other_stations_mac}, csrf),
        "expired": _post(client, {"code": code_at(acme, now - timedelta(seconds=60))}, csrf),
        "inactive": _post(client, {"code": code_at(later, now)}, csrf),
    }

    unknown = "This code is not one of this conference's hunt. Scan the QR code on the booth's screen."
    assert {name: (r.status_code, r.mimetype, r.json) for name, r in answers.items()} == {
        "malformed": (422, "application/problem+json", _problem(
            "malformed", "This is not a hunt code. Scan the QR code on the booth's screen.")),
        "forged": (422, "application/problem+json", _problem("unknown", unknown)),
        "foreign": (422, "application/problem+json", _problem("unknown", unknown)),
        "other station's mac": (422, "application/problem+json", _problem("unknown", unknown)),
        "expired": (422, "application/problem+json", _problem(
            "expired", "This code has expired: scan the screen again.")),
        "inactive": (422, "application/problem+json", _problem("inactive", "Hugging Face is not part of today's hunt.")),
    }
    assert _stamps(db) == []


def test_the_previous_windows_code_still_stamps(client, db, ada, acme, clock):
    sign_in(client, ada)

    response = _post(client, {"code": code_at(acme, clock() - timedelta(seconds=30))}, _csrf(client))

    assert (response.status_code, response.json["already"]) == (201, False)


def test_submissions_are_rate_limited_per_attendee_not_per_address(client, app, db, ada, acme, clock):
    sign_in(client, ada)
    csrf = _csrf(client)
    statuses = [_post(client, {"code": f"guess.{n}"}, csrf).status_code for n in range(21)]
    grace = make_attendee(email="grace.hopper@example.org").user
    neighbour = app.test_client()
    neighbour.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    sign_in(neighbour, grace)

    limited = _post(client, {"code": code_at(acme, clock())}, csrf)
    other = _post(neighbour, {"code": code_at(acme, clock())}, _csrf(neighbour))

    assert statuses == [422] * 20 + [429]
    assert (limited.status_code, limited.mimetype) == (429, "application/problem+json")
    assert (other.status_code, other.json["message"]) == (201, "Stamped at Acme AI.")
    assert [row[:2] for row in _stamps(db)] == [(grace.id, acme.id)]


def test_the_api_and_the_pages_forms_share_one_budget(client, db, ada, acme, clock):
    sign_in(client, ada)
    csrf = _csrf(client)
    statuses = [_post(client, {"code": f"guess.{n}"}, csrf).status_code for n in range(20)]

    typed = client.post("/hunt/scan", data={"csrf_token": csrf, "code": code_at(acme, clock())})
    collected = client.post(f"/h/{code_at(acme, clock())}", data={"csrf_token": csrf})

    assert statuses == [422] * 20
    assert (typed.status_code, collected.status_code) == (429, 429)
    assert _stamps(db) == []


def test_signed_out_staff_and_missing_csrf_are_refused(client, db, ada, acme, clock):
    code = code_at(acme, clock())
    anonymous = _post(client, {"code": code}, csrf_from(client.get("/sign-in").text))
    staff = make_user(email="sam.staff@example.org", role="staff")
    sign_in(client, staff)
    as_staff = _post(client, {"code": code}, csrf_from(client.get("/staff/").text))
    sign_in(client, ada)
    no_csrf = _post(client, {"code": code}, None)

    assert (anonymous.status_code, anonymous.mimetype, anonymous.json["title"]) == (
        401, "application/problem+json", "Unauthorized")
    assert (as_staff.status_code, as_staff.json["detail"]) == (
        403, "This is for attendees: your account has no attendee registration.")
    assert (no_csrf.status_code, no_csrf.mimetype) == (400, "application/problem+json")
    assert "CSRF token is missing" in no_csrf.json["detail"]
    assert _stamps(db) == []


@pytest.mark.parametrize(("body", "loc"), [
    ({}, "code"), ({"code": "x" * 301}, "code"), ({"code": "x", "extra": 1}, "extra"),
])
def test_the_body_is_validated(client, db, ada, acme, body, loc):
    sign_in(client, ada)

    response = _post(client, body, _csrf(client))

    assert response.status_code == 400
    assert [e["loc"] for e in response.json["errors"]] == [loc]


def test_my_card_for_today(client, db, ada, acme, clock):
    foundation = make_station("PyTorch Foundation", required=True, location=None)
    make_station("Hugging Face", days=[DAY_TWO])
    sign_in(client, ada)
    _post(client, {"code": code_at(foundation, clock())}, _csrf(client))
    # 03:30 in Paris on 8 April still belongs to the 7th (the 04:00 rule).
    clock.set(datetime(2026, 4, 8, 1, 30, tzinfo=UTC))

    response = client.get("/api/v1/hunt/card")

    assert (response.status_code, response.json) == (200, {
        "day": "2026-04-07", "needed": 2, "stamped": 1, "complete": False, "stations": [
            {"code": acme.code, "name": "Acme AI", "location": "Expo hall, booth B12", "required": False,
             "stamped_at": None},
            {"code": foundation.code, "name": "PyTorch Foundation", "location": None, "required": True,
             "stamped_at": "2026-04-07T09:00:00Z"},
        ]})
