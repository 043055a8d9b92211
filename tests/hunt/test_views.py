"""The attendee's hunt pages: my card, the scanner page (and its typed-code form), and what a
booth's QR opens (/h/<code>: GET asks, POST stamps once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from sqlalchemy import select

from companion.hunt import codes, services
from companion.hunt.models import Stamp, Station
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.hunt.conftest import code_at
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station

NINE_UTC = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # 11:00 in Paris, conference day one


def _html(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _one(page, xpath: str) -> str:
    found = page.xpath(xpath)
    assert len(found) == 1, f"{len(found)} matches for {xpath}"
    return _text(found[0])


def _stamps(db) -> list[tuple]:
    db.expire_all()
    return [(s.user_id, s.station_id, s.day, s.stamped_at, s.method, s.stamped_by_id, s.share_contact)
            for s in db.scalars(select(Stamp).order_by(Stamp.id))]


def _stamp(db, user, station: Station, at: datetime) -> None:
    services.record_stamp(user, station, now=at, zone=_paris(), method="code")
    db.commit()


def _paris():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def _progress(page) -> dict:
    bar = page.xpath("//progress[@data-progress-bar]")[0]
    raffle = page.xpath("//p[@data-progress-complete]")[0]
    missing = page.xpath("//p[@data-progress-missing]")[0]
    return {"text": _one(page, "//*[@data-progress-text]"), "value": bar.get("value"), "max": bar.get("max"),
            "rule": _one(page, "//p[@data-progress-rule]"),
            "raffle": None if raffle.get("hidden") is not None else _text(raffle),
            "missing": None if missing.get("hidden") is not None else _text(missing)}


# --- my card ---------------------------------------------------------------------------------


@pytest.fixture
def six_booths(db, conference) -> list[Station]:
    """Six booths on day one (PyTorch Foundation required), one on day two only."""
    booths = [make_station("Acme AI"), make_station("PyTorch Foundation", required=True, location="Main hall"),
              make_station("Hugging Face", location=None), make_station("Meta"), make_station("NVIDIA"),
              make_station("AMD")]
    make_station("Day Two Corp", days=[DAY_TWO])
    return booths


def test_card_lists_todays_stations_with_stamp_times_and_progress(client, db, clock, ada, six_booths):
    acme, foundation = six_booths[0], six_booths[1]
    _stamp(db, ada, acme, datetime(2026, 4, 7, 7, 12, tzinfo=UTC))
    _stamp(db, ada, foundation, datetime(2026, 4, 7, 9, 42, tzinfo=UTC))
    sign_in(client, ada)

    response = client.get("/hunt")
    page = _html(response)

    assert (response.status_code, response.headers["Cache-Control"]) == (200, "private, no-cache")
    assert _one(page, "//h1") == "Scavenger hunt Tuesday 7 April 2026"
    assert [_text(li) for li in page.xpath("//li[contains(@class, 'hunt-station')]")] == [
        "Acme AI Expo hall, booth B12 Stamped at 09:12",
        "PyTorch Foundation Required Main hall Stamped at 11:42",
        "Hugging Face Not stamped yet",
        "Meta Expo hall, booth B12 Not stamped yet",
        "NVIDIA Expo hall, booth B12 Not stamped yet",
        "AMD Expo hall, booth B12 Not stamped yet",
    ]
    assert page.xpath("//li[contains(@class, 'is-stamped')]//time/@datetime") == [
        "2026-04-07T07:12:00Z", "2026-04-07T09:42:00Z"]
    assert _progress(page) == {"text": "2 of 5 stamps", "value": "2", "max": "5",
                               "rule": "To complete today's card: 5 stamps, including PyTorch Foundation.",
                               "raffle": None, "missing": None}
    assert page.xpath("//a[text()='Scan a booth code']/@href") == ["/hunt/scan"]
    assert page.xpath("//nav//a[@aria-current='page']/text()") == ["Hunt"]


def test_card_says_you_are_in_the_raffle_only_when_complete(client, db, clock, ada, six_booths):
    acme, foundation, hugging, meta, nvidia, amd = six_booths
    for station in (acme, hugging, meta, nvidia, amd):
        _stamp(db, ada, station, NINE_UTC)
    sign_in(client, ada)

    five_without_required = _progress(_html(client.get("/hunt")))
    _stamp(db, ada, foundation, NINE_UTC + timedelta(minutes=5))
    complete = _progress(_html(client.get("/hunt")))

    assert five_without_required == {
        "text": "5 of 5 stamps", "value": "5", "max": "5",
        "rule": "To complete today's card: 5 stamps, including PyTorch Foundation.",
        "raffle": None, "missing": "Still needed: PyTorch Foundation (required)."}
    assert complete == {
        "text": "6 stamps, 5 needed", "value": "5", "max": "5",
        "rule": "To complete today's card: 5 stamps, including PyTorch Foundation.",
        "raffle": "Your card is complete: you are in today's raffle.", "missing": None}


def test_card_with_fewer_stations_than_the_rule_needs_all(client, db, ada, acme):
    make_station("Meta")
    sign_in(client, ada)

    assert _progress(_html(client.get("/hunt"))) == {
        "text": "0 of 2 stamps", "value": "0", "max": "2", "rule": "To complete today's card: both stamps.",
        "raffle": None, "missing": None}


def test_card_on_a_day_without_stations_says_so(client, db, clock, ada, acme):
    clock.set(datetime(2026, 4, 8, 9, 0, tzinfo=UTC))
    sign_in(client, ada)

    page = _html(client.get("/hunt"))

    assert _one(page, "//h1") == "Scavenger hunt Wednesday 8 April 2026"
    assert _one(page, "//div[@class='empty-state']") == (
        "There is no scavenger hunt today. The hunt runs on Tuesday 7 April 2026.")
    assert page.xpath("//progress") == [] and page.xpath("//li[contains(@class, 'hunt-station')]") == []


def test_card_day_follows_the_04_00_rule_in_the_conference_zone(client, db, clock, ada, acme):
    clock.set(datetime(2026, 4, 8, 1, 30, tzinfo=UTC))  # 03:30 in Paris: still the 7th
    sign_in(client, ada)

    page = _html(client.get("/hunt"))

    assert _one(page, "//h1") == "Scavenger hunt Tuesday 7 April 2026"
    assert [_text(li) for li in page.xpath("//li[contains(@class, 'hunt-station')]")] == [
        "Acme AI Expo hall, booth B12 Not stamped yet"]


def test_navigation_shows_hunt_to_attendees_only(client, db, ada, conference):
    staff = make_user(email="sam.staff@example.org", role="staff")
    sign_in(client, ada)
    attendee_nav = _html(client.get("/schedule")).xpath("//nav[@aria-label='Main']//a/text()")
    sign_in(client, staff)
    staff_nav = _html(client.get("/schedule")).xpath("//nav[@aria-label='Main']//a/text()")

    assert attendee_nav == ["Schedule", "Agenda", "Badge", "Hunt", "Account"]
    assert staff_nav == ["Schedule", "Agenda", "Staff", "Account"]


# --- the scanner page ------------------------------------------------------------------------


@pytest.mark.parametrize("consent", [False, True])
def test_scanner_page_has_the_camera_the_consent_default_and_the_typed_form(client, db, conference, consent):
    user = make_attendee(email="grace.hopper@example.org", consent_share_contact=consent).user
    make_station("Acme AI")
    sign_in(client, user)

    response = client.get("/hunt/scan")
    page = _html(response)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self' 'wasm-unsafe-eval'" in response.headers["Content-Security-Policy"]
    scanner = page.xpath("//section[@data-hunt-scanner]")[0]
    assert scanner.get("data-api-url") == "/api/v1/hunt/stamps"
    digests = client.application.extensions["asset_digests"]
    assert scanner.get("data-scanner-url") == f"/static/js/scanner.js?v={digests['js/scanner.js']}"
    assert scanner.get("data-polyfill-url").startswith("/static/vendor/barcode-detector-3.2.2/barcode-detector.iife.js?v=")
    assert scanner.get("data-wasm-url").startswith("/static/vendor/barcode-detector-3.2.2/zxing_reader.wasm?v=")
    assert page.xpath("//div[@data-scan-result]/@aria-live") == ["polite"]
    box = page.xpath("//input[@data-share-contact]")[0]
    assert (box.get("name"), box.get("form"), box.get("checked") is not None) == (
        "share_contact", "typed-code-form", consent)
    assert _one(page, "//label[@for='share_contact']") == "Let this booth see my name and company"
    assert page.xpath("//form[@id='typed-code-form']/@action") == ["/hunt/scan"]
    assert page.xpath("//script[contains(@src, 'hunt-scan.js')]/@type") == ["module"]
    assert _progress(page)["text"] == "0 of 1 stamp"


def test_typed_code_stamps_without_javascript(client, db, clock, ada, acme):
    sign_in(client, ada)
    csrf = csrf_from(client.get("/hunt/scan").text)

    typed = client.post("/hunt/scan", data={"csrf_token": csrf, "code": f" https://x.example/h/{code_at(acme, clock())} ",
                                            "share_contact": "y"})
    wrong = client.post("/hunt/scan", data={"csrf_token": csrf, "code": "ACME"})
    empty = client.post("/hunt/scan", data={"csrf_token": csrf, "code": "  "})

    assert typed.status_code == 200
    assert _one(_html(typed), "//div[@data-scan-result]") == "Stamped at Acme AI."
    assert _progress(_html(typed))["text"] == "1 of 1 stamp"
    assert (wrong.status_code, _one(_html(wrong), "//div[@data-scan-result]")) == (
        422, "This is not a hunt code. Scan the QR code on the booth's screen.")
    assert (empty.status_code, _one(_html(empty), "//div[@data-scan-result]")) == (
        422, "Type the code shown under the booth's QR code.")
    assert _stamps(db) == [(ada.id, acme.id, DAY_ONE, NINE_UTC, "code", None, True)]


# --- what a booth's QR opens -----------------------------------------------------------------


def test_opening_a_booth_code_asks_and_changes_nothing(client, db, clock, ada, acme):
    sign_in(client, ada)

    response = client.get(f"/h/{code_at(acme, clock())}")
    page = _html(response)

    assert (response.status_code, response.headers["Cache-Control"]) == (200, "no-store")
    assert _one(page, "//h1") == "Collect your stamp at Acme AI?"
    form = page.xpath("//form[@method='post']")[0]
    assert form.get("action") == f"/h/{code_at(acme, clock())}"
    assert form.xpath(".//input[@name='share_contact']/@checked") == []  # Ada did not agree in her settings
    assert _one(form, ".//button") == "Collect stamp"
    assert _progress(page)["text"] == "0 of 1 stamp"
    assert _stamps(db) == []


def test_collect_button_stamps_once_then_says_already_with_the_time(client, db, clock, ada, acme):
    clock.set(NINE_UTC)
    sign_in(client, ada)
    code = code_at(acme, clock())
    csrf = csrf_from(client.get(f"/h/{code}").text)

    first = client.post(f"/h/{code}", data={"csrf_token": csrf})
    clock.set(NINE_UTC + timedelta(seconds=20))
    second = client.post(f"/h/{code}", data={"csrf_token": csrf, "share_contact": "y"})
    reopened = client.get(f"/h/{code}")

    assert first.status_code == 200
    assert (_one(_html(first), "//h1"), _one(_html(first), "//div[@data-result-kind='new']")) == (
        "Stamp collected", "Stamped at Acme AI.")
    assert _progress(_html(first))["raffle"] == "Your card is complete: you are in today's raffle."
    assert (_one(_html(second), "//h1"), _one(_html(second), "//div[@data-result-kind='already']")) == (
        "Already stamped", "Already stamped at Acme AI at 11:00.")
    assert (reopened.status_code, _one(_html(reopened), "//h1")) == (200, "You have this stamp")
    assert _one(_html(reopened), "//div[@data-result-kind='already']") == "Already stamped at Acme AI at 11:00."
    assert _html(reopened).xpath("//form[@method='post']") == []
    assert _stamps(db) == [(ada.id, acme.id, DAY_ONE, NINE_UTC, "code", None, True)]


def test_collect_checks_the_code_again_when_the_button_is_pressed(client, db, clock, ada, acme):
    sign_in(client, ada)
    code = code_at(acme, clock())
    csrf = csrf_from(client.get(f"/h/{code}").text)
    clock.set(clock() + timedelta(seconds=61))  # the page was left open: two windows later

    response = client.post(f"/h/{code}", data={"csrf_token": csrf, "share_contact": "y"})

    assert response.status_code == 422
    assert _one(_html(response), "//h1") == "This code has expired"
    assert _one(_html(response), "//div[@data-result-kind='invalid']") == "This code has expired: scan the screen again."
    assert _stamps(db) == []


@pytest.mark.parametrize(("kind", "heading", "message"), [
    ("expired", "This code has expired", "This code has expired: scan the screen again."),
    ("malformed", "This is not a hunt code", "This is not a hunt code. Scan the QR code on the booth's screen."),
    ("foreign", "Unknown booth code",
     "This code is not one of this conference's hunt. Scan the QR code on the booth's screen."),
    ("inactive", "Not in today's hunt", "Day Two Corp is not part of today's hunt."),
])
def test_bad_codes_show_what_is_wrong_and_stamp_nothing(client, db, clock, ada, acme, kind, heading, message):
    later = make_station("Day Two Corp", days=[DAY_TWO])
    now = clock()
    code = {"expired": code_at(acme, now - timedelta(seconds=60)), "malformed": "not-a-code",
            "foreign": codes.rotating_code("ZZZZ99", "00" * 32, codes.window_of(now)),
            "inactive": code_at(later, now)}[kind]
    sign_in(client, ada)

    opened = client.get(f"/h/{code}")
    pressed = client.post(f"/h/{code}", data={"csrf_token": csrf_from(client.get("/hunt").text), "share_contact": "y"})

    for response in (opened, pressed):
        page = _html(response)
        assert (response.status_code, _one(page, "//h1")) == (422, heading)
        assert _one(page, "//div[@data-result-kind='invalid']") == message
        assert page.xpath("//a[text()='Open the scanner']/@href") == ["/hunt/scan"]
        assert page.xpath("//form[@method='post']") == []
    assert _stamps(db) == []


def test_signed_out_visitor_signs_in_first_and_an_expired_code_then_says_so(client, db, clock, ada, acme):
    code = code_at(acme, clock())

    opened = client.get(f"/h/{code}")
    pressed = client.post(f"/h/{code}", data={"csrf_token": csrf_from(client.get("/sign-in").text)})
    location = urlsplit(opened.headers["Location"])
    # Signing in through a mailed link takes a few minutes: the code is stale by then.
    clock.set(clock() + timedelta(minutes=3))
    sign_in(client, ada)
    back = client.get(parse_qs(location.query)["next"][0])

    assert (opened.status_code, location.path, parse_qs(location.query)) == (302, "/sign-in", {"next": [f"/h/{code}"]})
    assert (pressed.status_code, urlsplit(pressed.headers["Location"]).path) == (302, "/sign-in")
    assert (back.status_code, _one(_html(back), "//h1")) == (422, "This code has expired")
    assert _html(back).xpath("//a[text()='Open the scanner']/@href") == ["/hunt/scan"]
    assert _stamps(db) == []


def test_staff_and_booth_accounts_without_a_registration_are_refused(client, db, clock, acme):
    staff = make_user(email="sam.staff@example.org", role="staff")
    booth = make_user(email="bo.booth@example.org", role="booth", booth_code=acme.code)
    code = code_at(acme, clock())
    statuses = {}
    for who in (staff, booth):
        sign_in(client, who)
        csrf = csrf_from(client.get("/me").text)
        statuses[who.role] = [client.get(path, headers={"Accept": "text/html"}).status_code
                              for path in ("/hunt", "/hunt/scan", f"/h/{code}")] + [
            client.post(f"/h/{code}", data={"csrf_token": csrf}).status_code,
            client.post("/hunt/scan", data={"csrf_token": csrf, "code": code}).status_code]

    assert statuses == {"staff": [403] * 5, "booth": [403] * 5}
    assert _stamps(db) == []


def test_staff_member_who_is_also_an_attendee_collects_stamps(client, db, clock, conference, acme):
    both = make_attendee(email="sam.staff@example.org", role="staff").user
    sign_in(client, both)
    code = code_at(acme, clock())

    response = client.post(f"/h/{code}", data={"csrf_token": csrf_from(client.get(f"/h/{code}").text)})

    assert _one(_html(response), "//div[@data-result-kind='new']") == "Stamped at Acme AI."
    assert [row[:2] for row in _stamps(db)] == [(both.id, acme.id)]


def test_collect_needs_a_csrf_token(client, db, clock, ada, acme):
    sign_in(client, ada)
    client.get("/hunt")

    response = client.post(f"/h/{code_at(acme, clock())}", data={"share_contact": "y"})

    assert response.status_code == 400
    assert "CSRF token is missing" in response.get_data(as_text=True)
    assert _stamps(db) == []


def test_collect_button_is_rate_limited_per_attendee(client, db, clock, ada, acme):
    sign_in(client, ada)
    code = code_at(acme, clock())
    csrf = csrf_from(client.get("/hunt").text)

    statuses = [client.post(f"/h/{code}", data={"csrf_token": csrf}).status_code for _ in range(21)]

    assert statuses == [200] * 20 + [429]
    assert [row[:2] for row in _stamps(db)] == [(ada.id, acme.id)]


@pytest.mark.parametrize(("names", "required", "needed", "expected"), [
    (["A"], [], 1, "1 stamp"),
    (["A", "B"], ["B"], 2, "both stamps"),
    (["A", "B", "C"], ["C"], 3, "all 3 stamps"),
    (["A", "B", "C"], [], 2, "2 stamps"),
    (["A", "B", "C", "D"], ["B", "D"], 3, "3 stamps, including B and D"),
    (["A", "B", "C", "D", "E"], ["A", "C", "E"], 4, "4 stamps, including A, C and E"),
])
def test_what_completes_the_day_is_said_plainly(names, required, needed, expected):
    from companion.hunt.queries import Card, CardStation
    from companion.hunt.views import rule_text

    card = Card(day=DAY_ONE, stations=[CardStation(Station(name=n, required=n in required), None) for n in names],
                needed=needed, stamped=0, missing_required=[])

    assert rule_text(card) == expected
