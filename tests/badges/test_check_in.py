"""Checking in: once per attendee (also under concurrency), the JSON API, the door's forms,
search by name."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Attendee, AuditEvent, User
from companion.badges.services import CheckInResult, check_in
from companion.extensions import db as _db
from tests.concurrency import run_at_once
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.badges.support import paris

THREADS = 20


def test_check_in_twice_says_already_with_the_first_time_and_staff(db, ada, door):
    other = make_user(email="kim@example.org", name="Kim Later", role="staff")
    first_at = paris(2026, 4, 7, 9, 12)

    first = check_in(ada, staff=door, now=first_at)
    db.commit()
    second = check_in(ada, staff=other, now=first_at + timedelta(minutes=30))
    db.commit()

    assert first == CheckInResult(newly=True, at=first_at, by_name="Sam Door")
    assert second == CheckInResult(newly=False, at=first_at, by_name="Sam Door")
    stored = db.get(Attendee, ada.id)
    assert (stored.checked_in_at, stored.checked_in_by_id) == (first_at, door.id)
    events = db.execute(select(AuditEvent.action, AuditEvent.subject, AuditEvent.actor_id, AuditEvent.details)).all()
    assert events == [("attendee.check_in", "ada.lovelace@example.org", door.id, {"attendee_id": ada.id})]


def test_concurrent_check_ins_of_one_attendee_check_in_once(app, db, ada):
    staff_ids = [make_user(email=f"door{i}@example.org", name=f"Door {i}", role="staff").id for i in range(THREADS)]
    start = paris(2026, 4, 7, 9, 0)
    def door(index: int) -> tuple[int, CheckInResult]:
        attendee = _db.session.get(Attendee, ada.id)
        staff = _db.session.get(User, staff_ids[index])
        return index, check_in(attendee, staff=staff, now=start + timedelta(seconds=index))

    results = run_at_once(app, THREADS, door)

    winners = [(i, r) for i, r in results if r.newly]
    assert len(results) == THREADS and len(winners) == 1
    index, won = winners[0]
    assert won == CheckInResult(newly=True, at=start + timedelta(seconds=index), by_name=f"Door {index}")
    assert {r for _, r in results if not r.newly} == {CheckInResult(newly=False, at=won.at, by_name=won.by_name)}
    db.expire_all()
    stored = db.get(Attendee, ada.id)
    assert (stored.checked_in_at, stored.checked_in_by_id) == (won.at, staff_ids[index])
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "attendee.check_in")) == 1


# --- the API -------------------------------------------------------------------------------


def _csrf(client, path: str = "/staff/check-in") -> str:
    return csrf_from(client.get(path).text)


def _post(client, body: dict, csrf: str | None):
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post("/api/v1/check-ins", json=body, headers=headers)


def test_api_checks_in_and_answers_exactly(client, ada, door, clock):
    clock.set(paris(2026, 4, 7, 9, 12))
    sign_in(client, door)
    csrf = _csrf(client)

    first = _post(client, {"token": ada.badge_token}, csrf)
    clock.set(paris(2026, 4, 7, 9, 40))
    again = _post(client, {"token": f"http://localhost/b/{ada.badge_token}"}, csrf)

    attendee = {"name": "Ada Lovelace", "company": "Analytical Engines", "ticket_type": "Speaker"}
    assert (first.status_code, first.json) == (200, {
        "attendee": attendee, "checked_in_at": "2026-04-07T07:12:00Z", "checked_in_at_local": "09:12",
        "checked_in_by": "Sam Door", "already": False,
    })
    assert (again.status_code, again.json) == (200, {
        "attendee": attendee, "checked_in_at": "2026-04-07T07:12:00Z", "checked_in_at_local": "09:12",
        "checked_in_by": "Sam Door", "already": True,
    })


@pytest.mark.parametrize("scanned", [
    "https://conf.example.org/b/{token}", "  {token}\n", "https://conf.example.org/b/{token}/", "/b/{token}",
])
def test_api_takes_the_token_or_the_badge_url(client, ada, door, scanned):
    sign_in(client, door)

    response = _post(client, {"token": scanned.format(token=ada.badge_token)}, _csrf(client))

    assert (response.status_code, response.json["attendee"]["name"]) == (200, "Ada Lovelace")


def test_api_unknown_badge_is_404_problem(client, ada, door):
    sign_in(client, door)

    response = _post(client, {"token": "http://localhost/b/Zm9yZ2VkLWJhZGdlLXRva2Vu"}, _csrf(client))

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json == {"type": "about:blank", "title": "Unknown badge", "status": 404,
                             "detail": "No badge with this code: it may have been replaced. Look the person up by name."}
    assert _db.session.scalar(select(Attendee.checked_in_at).where(Attendee.id == ada.id)) is None


def test_api_refuses_anonymous_attendees_and_missing_csrf(client, ada, door):
    anonymous = _post(client, {"token": ada.badge_token}, _csrf(client, "/sign-in"))
    sign_in(client, ada.user)
    attendee = _post(client, {"token": ada.badge_token}, _csrf(client, "/me/badge"))
    sign_in(client, door)
    no_csrf = _post(client, {"token": ada.badge_token}, None)

    assert (anonymous.status_code, anonymous.json["title"]) == (401, "Unauthorized")
    assert (attendee.status_code, attendee.json["detail"]) == (
        403, "This is for staff only. You are signed in as ada.lovelace@example.org.")
    assert no_csrf.status_code == 400 and no_csrf.mimetype == "application/problem+json"
    assert "CSRF" in no_csrf.json["detail"]
    assert _db.session.scalar(select(Attendee.checked_in_at).where(Attendee.id == ada.id)) is None


@pytest.mark.parametrize(("body", "loc"), [({}, "token"), ({"token": ""}, "token"), ({"token": "x", "extra": 1}, "extra")])
def test_api_validates_the_body(client, ada, door, body, loc):
    sign_in(client, door)

    response = _post(client, body, _csrf(client))

    assert response.status_code == 400
    assert [e["loc"] for e in response.json["errors"]] == [loc]


# --- the pages -----------------------------------------------------------------------------


def test_door_page_button_checks_in_then_says_already(client, ada, door, clock):
    clock.set(paris(2026, 4, 7, 9, 12))
    sign_in(client, door)
    page = client.get(f"/b/{ada.badge_token}").text

    first = client.post(f"/b/{ada.badge_token}/check-in", data={"csrf_token": csrf_from(page)})
    clock.set(paris(2026, 4, 7, 10, 0))
    second = client.post(f"/b/{ada.badge_token}/check-in", data={"csrf_token": csrf_from(page)})

    assert first.status_code == 200
    assert '<p class="checkin-result-text"><strong>Checked in: Ada Lovelace</strong></p>' in first.text
    assert "Checked in at <time datetime=\"2026-04-07T07:12:00Z\">09:12</time>, Tue 7 Apr, by Sam Door" in first.text
    assert "<strong>Already checked in at 09:12 by Sam Door</strong> (Ada Lovelace)" in second.text
    assert 'class="button-big">Check in</button>' not in second.text


def test_door_page_button_needs_staff_and_csrf(client, ada, door):
    sign_in(client, door)
    no_csrf = client.post(f"/b/{ada.badge_token}/check-in")
    sign_in(client, ada.user)
    page = client.get("/me/badge").text
    own_badge = client.post(f"/b/{ada.badge_token}/check-in", data={"csrf_token": csrf_from(page)},
                            headers={"Accept": "text/html"})

    assert (no_csrf.status_code, own_badge.status_code) == (400, 403)
    assert _db.session.scalar(select(Attendee.checked_in_at).where(Attendee.id == ada.id)) is None


def test_search_by_name_lists_matches_with_a_check_in_button(client, ada, door, clock):
    make_attendee(email="grace@example.org", name="Grace Hopper", company="US Navy")
    make_attendee(email="adam@example.org", name="Adam Smith", company=None, ticket_type=None)
    sign_in(client, door)

    html = client.get("/staff/check-in?q=ADA").text

    assert '<p class="result-count">2 matches</p>' in html
    names = [line.strip() for line in html.splitlines() if "session-title" in line]
    assert names == [
        f'<p class="session-title"><a href="/staff/attendees/{ada.id}">Ada Lovelace</a></p>',
        '<p class="session-title"><a href="/staff/attendees/{}">Adam Smith</a></p>'.format(
            _db.session.scalar(select(Attendee.id).join(User, User.id == Attendee.user_id).where(User.name == "Adam Smith"))),
    ]
    assert "Analytical Engines · Speaker · ada.lovelace@example.org" in html
    assert 'aria-label="Check in Ada Lovelace"' in html
    assert "Grace Hopper" not in html


def test_search_check_in_button(client, ada, door, clock):
    clock.set(paris(2026, 4, 7, 9, 12))
    sign_in(client, door)
    page = client.get("/staff/check-in?q=lovelace").text

    response = client.post("/staff/check-in", data={"csrf_token": csrf_from(page), "attendee_id": ada.id, "q": "lovelace"})

    assert response.status_code == 200
    assert '<p class="checkin-result-text"><strong>Checked in: Ada Lovelace</strong></p>' in response.text
    assert "<p>Checked in at <time datetime=\"2026-04-07T07:12:00Z\">09:12</time>, Tue 7 Apr, by Sam Door</p>" in response.text
    assert '<input type="search" id="q" name="q" value="lovelace"' in response.text
    assert _db.session.scalar(select(Attendee.checked_in_by_id).where(Attendee.id == ada.id)) == door.id


@pytest.mark.parametrize(("query", "expected"), [
    ("a", "Type at least 2 characters of the name or email."),
    ("%%", "Nobody's name or email contains “%%”."),
    ("__", "Nobody's name or email contains “__”."),
])
def test_search_needs_two_characters_and_takes_wildcards_literally(client, ada, door, query, expected):
    sign_in(client, door)

    html = client.get("/staff/check-in", query_string={"q": query}).text

    assert expected in html
    assert "Ada Lovelace" not in html


def test_search_shows_at_most_20(client, conference, door):
    for n in range(25):
        make_attendee(email=f"dev{n:02d}@example.org", name=f"Developer {n:02d}")
    sign_in(client, door)

    html = client.get("/staff/check-in?q=developer").text

    assert html.count('class="session-title"') == 20
    assert "The first 20 matches: type more of the name." in html
    assert "Developer 19" in html and "Developer 20" not in html


def test_check_in_page_allows_webassembly_for_the_scanner_only(client, ada, door):
    sign_in(client, door)

    scanner = client.get("/staff/check-in")
    other = client.get(f"/staff/attendees/{ada.id}")

    assert "script-src 'self' 'wasm-unsafe-eval';" in scanner.headers["Content-Security-Policy"]
    assert "wasm-unsafe-eval" not in other.headers["Content-Security-Policy"]
    assert scanner.headers["Cache-Control"] == "no-store"
    digests = client.application.extensions["asset_digests"]
    wasm = "vendor/barcode-detector-3.2.2/zxing_reader.wasm"
    assert f'data-wasm-url="/static/{wasm}?v={digests[wasm]}"' in scanner.text
    assert f'data-scanner-url="/static/js/scanner.js?v={digests["js/scanner.js"]}"' in scanner.text
    served = client.get(f"/static/{wasm}")
    assert (served.status_code, served.mimetype, served.data[:4]) == (200, "application/wasm", b"\0asm")
