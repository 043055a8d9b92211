"""Booth codes scanned offline and sent later (the offline queue): a rotating code counts if it
was on the screen when scanned and arrives within the grace staff set; the stamp counts from
when it was on screen, by the server's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from companion.extensions import db as _db
from companion.hunt import codes, services
from companion.hunt.models import Stamp
from tests.accounts.factories import csrf_from, sign_in
from tests.hunt.conftest import code_at
from tests.hunt.factories import DAY_ONE, make_station

SCANNED = datetime(2026, 4, 7, 9, 0, 10, tzinfo=UTC)  # 11:00:10 in Paris, day one
# The code shown at 09:00:10 belongs to the window 09:00:00-09:00:30 and is accepted until 09:01:00.
ACCEPTED_UNTIL = datetime(2026, 4, 7, 9, 1, tzinfo=UTC)
EXPIRED_OFFLINE = {"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                   "detail": "This code was scanned offline and arrived too late: codes scanned offline count for 15 "
                             "minutes after they change. Scan the screen again.",
                   "errors": [{"loc": "code", "msg": "This code was scanned offline and arrived too late: codes "
                                                     "scanned offline count for 15 minutes after they change. Scan the "
                                                     "screen again.", "reason": "expired"}]}


def _send(client, clock, code: str, at: datetime, **extra):
    clock.set(at)
    csrf = csrf_from(client.get("/hunt").text)
    return client.post("/api/v1/hunt/stamps", json={"code": code, **extra}, headers={"X-CSRFToken": csrf})


def _stamps() -> list[tuple]:
    _db.session.expire_all()
    return [(s.user_id, s.station_id, s.day, s.stamped_at, s.method) for s in _db.session.scalars(select(Stamp))]


@pytest.mark.parametrize("sent_after", [timedelta(minutes=10), timedelta(minutes=15, seconds=-1)])
def test_a_code_scanned_offline_counts_within_the_grace_from_when_it_was_shown(client, clock, ada, acme, sent_after):
    sign_in(client, ada)

    response = _send(client, clock, code_at(acme, SCANNED), ACCEPTED_UNTIL + sent_after, offline=True)

    assert (response.status_code, response.json["stamped_at"], response.json["already"]) == (
        201, "2026-04-07T09:01:00Z", False)
    assert _stamps() == [(ada.id, acme.id, DAY_ONE, ACCEPTED_UNTIL, "code")]


def test_a_code_scanned_offline_that_arrives_after_the_grace_is_refused(client, clock, ada, acme):
    sign_in(client, ada)

    response = _send(client, clock, code_at(acme, SCANNED), ACCEPTED_UNTIL + timedelta(minutes=15), offline=True)

    assert (response.status_code, response.json) == (422, {**EXPIRED_OFFLINE, "errors": [
        {**EXPIRED_OFFLINE["errors"][0], "loc": response.json["errors"][0]["loc"]}]})
    assert response.json["errors"][0]["reason"] == "expired"
    assert _stamps() == []


def test_without_the_offline_flag_the_usual_minute_applies(client, clock, ada, acme):
    sign_in(client, ada)

    response = _send(client, clock, code_at(acme, SCANNED), ACCEPTED_UNTIL + timedelta(minutes=1))

    assert (response.status_code, response.json["detail"]) == (422, "This code has expired: scan the screen again.")
    assert _stamps() == []


def test_an_offline_scan_sent_at_once_counts_from_now(client, clock, ada, acme):
    sign_in(client, ada)

    response = _send(client, clock, code_at(acme, SCANNED), SCANNED + timedelta(seconds=5), offline=True)

    assert _stamps() == [(ada.id, acme.id, DAY_ONE, SCANNED + timedelta(seconds=5), "code")]
    assert response.status_code == 201


def test_grace_zero_refuses_late_offline_codes(client, clock, ada, acme):
    services.set_offline_grace(0, now=SCANNED)
    _db.session.commit()
    sign_in(client, ada)

    late = _send(client, clock, code_at(acme, SCANNED), ACCEPTED_UNTIL, offline=True)
    in_time = _send(client, clock, code_at(acme, SCANNED), ACCEPTED_UNTIL - timedelta(seconds=1), offline=True)

    assert (late.status_code, late.json["errors"][0]["reason"]) == (422, "expired")
    assert late.json["detail"].startswith("This code was scanned offline and arrived too late: codes scanned offline "
                                          "count for 0 minutes")
    assert in_time.status_code == 201
    assert _stamps() == [(ada.id, acme.id, DAY_ONE, ACCEPTED_UNTIL - timedelta(seconds=1), "code")]


def test_a_printed_code_scanned_offline_counts_whenever_it_arrives(client, clock, ada):
    globex = make_station("Globex", mode="fixed")
    sign_in(client, ada)

    response = _send(client, clock, codes.fixed_code(globex.code, globex.fixed_code), SCANNED + timedelta(hours=3),
                     offline=True)

    assert response.status_code == 201
    assert _stamps() == [(ada.id, globex.id, DAY_ONE, SCANNED + timedelta(hours=3), "code")]


def test_a_forged_code_is_refused_offline_too(client, clock, ada, acme):
    sign_in(client, ada)
    window = codes.window_of(SCANNED)

    response = _send(client, clock, f"{acme.code}.{window}.{'A' * 16}", SCANNED + timedelta(minutes=2), offline=True)

    assert (response.status_code, response.json["errors"][0]["reason"]) == (422, "unknown")
    assert _stamps() == []


def test_offline_accepted_is_decided_by_the_codes_window_not_the_phones_clock():
    window = codes.window_of(SCANNED)
    grace = timedelta(minutes=5)

    assert codes.offline_accepted(window, ACCEPTED_UNTIL + grace - timedelta(microseconds=1), grace) is True
    assert codes.offline_accepted(window, ACCEPTED_UNTIL + grace, grace) is False
    # A window that has not begun yet (by our clock) was never on screen.
    assert codes.offline_accepted(window + 1, SCANNED, grace) is False
    assert codes.scanned_by(window, ACCEPTED_UNTIL + grace) == ACCEPTED_UNTIL
    assert codes.scanned_by(window, SCANNED) == SCANNED
