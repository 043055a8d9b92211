"""Booth staff pages: the rotating code display, stamping a scanned badge for the own booth, visitors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from sqlalchemy import select

from companion.accounts.models import Attendee
from companion.extensions import db as _db
from companion.hunt import codes, services
from companion.hunt.models import Stamp
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.badges.support import decode, rasterise_qr_svg
from tests.factories import load_schedule
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station

PARIS = ZoneInfo("Europe/Paris")
# 11:00:12 in Paris on day one: 12 seconds into a 30-second window (1775552400 is divisible by 30).
WINDOW_START = datetime(2026, 4, 7, 9, 0, 0, tzinfo=UTC)
NOW = WINDOW_START + timedelta(seconds=12)
INVALID_BADGE = ("Nothing was stamped: this badge is not valid. It may have been replaced by a new one, or belong "
                 "to another conference. Ask the attendee to open their badge in the app and scan that.")


@pytest.fixture
def acme(db):
    load_schedule()
    return make_station("Acme AI", days=[DAY_ONE, DAY_TWO])


@pytest.fixture
def booth(acme):
    return make_user(email="booth@acme.example", name="Bob Booth", role="booth", booth_code=acme.code)


def _doc(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def _texts(response, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in _doc(response).xpath(xpath)]


def _stamps() -> list[tuple]:
    _db.session.expire_all()
    return [(s.user_id, s.station_id, s.day, s.stamped_at, s.method, s.stamped_by_id, s.share_contact)
            for s in _db.session.scalars(select(Stamp).order_by(Stamp.id))]


def _decoded_qr(client, url: str) -> list[str]:
    response = client.get(url)
    assert (response.status_code, response.mimetype, response.headers["Cache-Control"]) == (
        200, "image/svg+xml", "no-store")
    return decode(rasterise_qr_svg(response.get_data(as_text=True)))


# --- the display ----------------------------------------------------------------------------


def test_display_shows_the_qr_of_the_current_code_accepted_now_and_expired_a_minute_later(client, clock, acme, booth):
    clock.set(NOW)
    sign_in(client, booth)

    page = client.get("/booth")
    doc = _doc(page)
    display = doc.xpath("//*[@data-booth-display]")[0]
    image = doc.xpath("//img[@data-booth-qr]")[0]
    scanned = _decoded_qr(client, image.get("src"))

    expected = codes.rotating_code(acme.code, acme.secret, codes.window_of(NOW))
    assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-store")
    assert _texts(page, "//h1") == ["Acme AI"]
    assert (display.get("data-mode"), display.get("data-seconds-left"), display.get("data-qr-url")) == (
        "rotating", "18.0", "/booth/qr.svg")
    assert image.get("src") == "/booth/qr.svg"
    assert _texts(page, "//*[@data-stamps-today]") == ["0"]
    assert doc.xpath("//a[text()='Visitors']/@href") == ["/booth/visitors"]
    assert doc.xpath("//script[contains(@src, 'booth-display')]/@src")[0].startswith("/static/js/booth-display.js")
    assert doc.xpath("//*[@data-fixed-warning]") == []
    assert scanned == [f"http://localhost/h/{expected}"]
    code = codes.code_from_scan(scanned[0])
    assert services.station_for_code(code, now=NOW, zone=PARIS).id == acme.id
    with pytest.raises(services.HuntError) as refused:
        services.station_for_code(code, now=NOW + timedelta(seconds=60), zone=PARIS)
    assert refused.value.reason == "expired"


def test_display_qr_changes_with_the_window(client, clock, acme, booth):
    sign_in(client, booth)
    clock.set(NOW)
    first = _decoded_qr(client, "/booth/qr.svg")
    clock.set(NOW + timedelta(seconds=17))
    same = _decoded_qr(client, "/booth/qr.svg")
    clock.set(NOW + timedelta(seconds=18))
    later = _decoded_qr(client, "/booth/qr.svg")

    assert first == same == [f"http://localhost/h/{codes.rotating_code(acme.code, acme.secret, codes.window_of(NOW))}"]
    assert later == [f"http://localhost/h/{codes.rotating_code(acme.code, acme.secret, codes.window_of(NOW) + 1)}"]


def test_display_qr_uses_the_public_url(app, client, clock, acme, booth):
    clock.set(NOW)
    sign_in(client, booth)
    app.config["PUBLIC_URL"] = "https://conf.example.org"
    try:
        scanned = _decoded_qr(client, "/booth/qr.svg")
    finally:
        app.config["PUBLIC_URL"] = None

    assert scanned == [f"https://conf.example.org/h/{codes.rotating_code(acme.code, acme.secret, codes.window_of(NOW))}"]


def test_fixed_station_display_warns_and_shows_the_printed_code(client, clock, db):
    load_schedule()
    station = make_station("Globex", mode="fixed")
    sign_in(client, make_user(role="booth", booth_code=station.code))
    clock.set(NOW)

    page = client.get("/booth")
    scanned = _decoded_qr(client, "/booth/qr.svg")
    clock.set(NOW + timedelta(hours=3))

    printed = codes.fixed_code(station.code, station.fixed_code)
    assert page.status_code == 200
    assert _texts(page, "//*[@data-fixed-warning]/strong") == ["Fixed code: anyone with a photo of it can stamp."]
    assert _texts(page, "//*[@data-fixed-code]") == [printed]
    assert _doc(page).xpath("//*[@data-booth-display]/@data-mode") == ["fixed"]
    assert _doc(page).xpath("//button[@data-print]/@hidden") == [""]
    assert scanned == [f"http://localhost/h/{printed}"]
    assert _decoded_qr(client, "/booth/qr.svg") == scanned  # it never changes
    assert services.station_for_code(codes.code_from_scan(scanned[0]), now=NOW + timedelta(hours=3), zone=PARIS).id == station.id


def test_display_counts_todays_stamps_and_warns_on_a_day_off(client, clock, acme, booth):
    for n in range(2):
        services.record_stamp(make_attendee().user, acme, now=NOW, zone=PARIS, method="code")
    services.record_stamp(make_attendee().user, acme, now=NOW + timedelta(days=1), zone=PARIS, method="code")
    off = make_station("Initech", days=[DAY_TWO])
    _db.session.commit()
    sign_in(client, booth)
    clock.set(NOW + timedelta(minutes=5))

    page = client.get("/booth")

    assert _texts(page, "//*[@data-stamps-today]") == ["2"]
    assert _doc(page).xpath("//*[@data-inactive]") == []
    sign_in(client, make_user(role="booth", booth_code=off.code))
    assert _texts(client.get("/booth"), "//*[@data-inactive]") == [
        "Initech is not part of today's scavenger hunt: scans of this code are refused today."]


@pytest.mark.parametrize("path", ["/booth", "/booth/qr.svg", "/booth/visitors", "/booth/visitors.csv"])
def test_booth_account_without_a_station_gets_a_clear_page(client, acme, path):
    sign_in(client, make_user(role="booth", booth_code="NOPE42"))

    response = client.get(path)

    assert (response.status_code, response.headers["Cache-Control"]) == (404, "no-store")
    assert _texts(response, "//*[@data-no-station]") == [
        "Your booth account (booth code NOPE42) is not linked to any station of the scavenger hunt, so there is no "
        "code to show and no visitors to list."]


def test_booth_code_matches_in_any_case(client, acme):
    sign_in(client, make_user(role="booth", booth_code=f" {acme.code.lower()} "))

    assert _texts(client.get("/booth"), "//h1") == ["Acme AI"]


@pytest.mark.parametrize("path", ["/booth", "/booth/qr.svg", "/booth/visitors", "/booth/visitors.csv"])
@pytest.mark.parametrize("who", ["attendee", "staff"])
def test_attendees_and_staff_without_booth_are_refused(client, acme, path, who):
    person = make_attendee().user if who == "attendee" else make_user(role="staff")
    sign_in(client, person)

    response = client.get(path)

    assert response.status_code == 403
    assert "This is for booth staff only." in response.get_data(as_text=True)


# --- a scanned badge ------------------------------------------------------------------------


def _scan(client, attendee: Attendee):
    return client.get(f"/b/{attendee.badge_token}")


def _stamp(client, attendee: Attendee, station_code: str, share: bool = False, token: str | None = None):
    csrf = csrf_from(client.get("/booth/visitors").get_data(as_text=True))
    data = {"csrf_token": csrf, "station": station_code}
    if share:
        data["share_contact"] = "y"
    return client.post(f"/b/{token or attendee.badge_token}/stamp", data=data)


def test_badge_page_offers_the_stamp_for_the_own_station_only(client, clock, acme, booth):
    ada = make_attendee(name="Ada Lovelace", company="Analytical Engines")
    sign_in(client, booth)

    page = _scan(client, ada)
    doc = _doc(page)

    assert page.status_code == 200
    assert doc.xpath("//form[@data-stamp-form]/@action") == [f"/b/{ada.badge_token}/stamp"]
    assert doc.xpath("//form[@data-stamp-form]//input[@name='station']/@value") == [acme.code]
    assert _texts(page, "//form[@data-stamp-form]//button") == ["Stamp for Acme AI"]
    assert _texts(page, "//label[@for='share_contact']") == [
        "The attendee agrees to share their name and company with Acme AI"]
    assert doc.xpath("//input[@id='share_contact']/@checked") == []
    assert "Ada Lovelace" not in page.get_data(as_text=True)


def test_badge_page_pre_ticks_consent_given_in_the_settings(client, acme, booth):
    ada = make_attendee(name="Ada Lovelace", company="Analytical Engines", consent_share_contact=True)
    sign_in(client, booth)

    page = _scan(client, ada)

    assert _texts(page, "//label[@for='share_contact']") == [
        "Ada Lovelace agrees to share their name and company with Acme AI"]
    assert _doc(page).xpath("//input[@id='share_contact']/@checked") == ["checked"]


def test_badge_stamp_works_once_and_the_second_says_already(client, clock, acme, booth):
    ada = make_attendee(name="Ada Lovelace")
    sign_in(client, booth)
    clock.set(datetime(2026, 4, 7, 9, 42, tzinfo=UTC))  # 11:42 in Paris

    first = _stamp(client, ada, acme.code)
    clock.set(datetime(2026, 4, 7, 10, 5, tzinfo=UTC))
    second = _stamp(client, ada, acme.code)
    again = _scan(client, ada)

    assert (first.status_code, second.status_code) == (200, 200)
    assert _texts(first, "//*[@data-stamp-result]") == ["Stamped."]
    assert _doc(first).xpath("//*[@data-stamp-result]/@data-stamp-result") == ["new"]
    assert _texts(second, "//*[@data-stamp-result]") == ["Already stamped at 11:42."]
    assert _texts(again, "//*[@data-stamped-before]") == ["Already stamped today at 11:42."]
    assert _stamps() == [(ada.user_id, acme.id, DAY_ONE, datetime(2026, 4, 7, 9, 42, tzinfo=UTC), "badge", booth.id, False)]
    assert first.headers["Cache-Control"] == "no-store"


def test_badge_stamp_with_consent_at_the_scan_shares_the_contact(client, clock, acme, booth):
    ada = make_attendee(name="Ada Lovelace")
    sign_in(client, booth)

    response = _stamp(client, ada, acme.code, share=True)

    assert _texts(response, "//*[@data-stamp-result]") == [
        "Stamped. Their name and company are on your visitors list."]
    assert [row[-1] for row in _stamps()] == [True]


def test_booth_of_another_station_sees_no_stamp_for_it_and_is_refused(client, clock, acme):
    globex = make_station("Globex")
    other = make_user(role="booth", booth_code=globex.code)
    ada = make_attendee(name="Ada Lovelace")
    sign_in(client, other)

    page = _scan(client, ada)
    response = _stamp(client, ada, acme.code)

    assert _texts(page, "//form[@data-stamp-form]//button") == ["Stamp for Globex"]
    assert "Acme AI" not in page.get_data(as_text=True)
    assert response.status_code == 403
    assert _texts(response, "//*[@data-stamp-error]") == [
        "Nothing was stamped: you can stamp only for your own booth, Globex."]
    assert _stamps() == []


def test_booth_without_a_station_sees_no_button_and_cannot_stamp(client, acme):
    ada = make_attendee(name="Ada Lovelace")
    sign_in(client, make_user(role="booth", booth_code="NOPE42"))

    page = _scan(client, ada)
    csrf = csrf_from(page.get_data(as_text=True))
    response = client.post(f"/b/{ada.badge_token}/stamp", data={"csrf_token": csrf, "station": acme.code})

    assert _doc(page).xpath("//form[@data-stamp-form]") == []
    assert _texts(page, "//*[@data-no-station]") == [
        "Your booth account (booth code NOPE42) is not linked to a station of the scavenger hunt, so you cannot "
        "stamp. Ask the organisers to check your booth code."]
    assert response.status_code == 403
    assert _texts(response, "//*[@data-stamp-error]") == [
        "Nothing was stamped: your booth account (booth code NOPE42) is not linked to a station of the scavenger "
        "hunt. Ask the organisers to check your booth code."]
    assert _stamps() == []


def test_station_not_in_todays_hunt_has_no_button_and_refuses_a_stamp(client, clock, db):
    load_schedule()
    initech = make_station("Initech", days=[DAY_TWO])
    sign_in(client, make_user(role="booth", booth_code=initech.code))
    ada = make_attendee(name="Ada Lovelace")

    page = _scan(client, ada)
    response = _stamp(client, ada, initech.code)

    assert _doc(page).xpath("//form[@data-stamp-form]") == []
    assert _texts(page, "//*[@data-inactive]") == [
        "Initech is not part of today's scavenger hunt: there is nothing to stamp today."]
    assert response.status_code == 409
    assert _texts(response, "//*[@data-stamp-error]") == ["Nothing was stamped: Initech is not part of today's hunt."]
    assert _stamps() == []


@pytest.mark.parametrize("badge", ["unknown", "replaced"])
def test_unknown_or_replaced_badge_is_refused(client, acme, booth, badge):
    ada = make_attendee(name="Ada Lovelace")
    token = ada.badge_token
    if badge == "replaced":
        ada.badge_token = "bmV3LWJhZGdlLXRva2VuLWZvci1hZGE"
        _db.session.commit()
    else:
        token = "Zm9yZ2VkLWJhZGdlLXRva2Vu"
    sign_in(client, booth)

    response = _stamp(client, ada, acme.code, token=token)

    assert response.status_code == 404
    assert _texts(response, "//*[@data-stamp-error]") == [INVALID_BADGE]
    assert _stamps() == []


@pytest.mark.parametrize("who", ["attendee", "staff"])
def test_badge_stamp_needs_the_booth_role(client, acme, who):
    ada = make_attendee(name="Ada Lovelace")
    sign_in(client, make_attendee().user if who == "attendee" else make_user(role="staff"))
    csrf = csrf_from(client.get("/me").get_data(as_text=True))

    response = client.post(f"/b/{ada.badge_token}/stamp", data={"csrf_token": csrf, "station": acme.code})

    assert response.status_code == 403
    assert _stamps() == []


# --- visitors -------------------------------------------------------------------------------


def _visit(station, name: str, company: str | None, minute: int, share: bool, day_offset: int = 0):
    user = make_attendee(name=name, company=company, email=f"{name.split()[0].lower()}@example.org").user
    services.record_stamp(user, station, now=datetime(2026, 4, 7 + day_offset, 9, minute, tzinfo=UTC), zone=PARIS,
                          method="code", share_contact=share)
    return user


def test_visitors_shows_the_count_and_only_consented_names(client, clock, acme, booth):
    _visit(acme, "Ada Lovelace", "Analytical Engines", 5, True)
    _visit(acme, "Grace Hopper", "US Navy", 10, False)
    _visit(acme, "Alan Turing", None, 20, True)
    _visit(acme, "Katherine Johnson", "NASA", 30, True, day_offset=1)
    _db.session.commit()
    sign_in(client, booth)

    page = client.get("/booth/visitors")
    rows = [[" ".join(td.text_content().split()) for td in tr.xpath("td")]
            for tr in _doc(page).xpath("//table[@data-table='visitors']/tbody/tr")]

    assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-store")
    assert _texts(page, "//*[@data-stamp-count]") == ["3"]
    assert _texts(page, "//*[@data-shared-count]") == ["2"]
    assert rows == [["11:05", "Ada Lovelace", "Analytical Engines"], ["11:20", "Alan Turing", "–"]]
    assert "Grace" not in page.get_data(as_text=True)
    assert "@example.org" not in page.get_data(as_text=True)
    assert _doc(page).xpath("//a[@download]/@href") == ["/booth/visitors.csv?day=2026-04-07"]


def test_visitors_csv_has_only_the_consented_leads(client, clock, acme, booth):
    _visit(acme, "Ada Lovelace", "Analytical Engines", 5, True)
    _visit(acme, "Grace Hopper", "US Navy", 10, False)
    _visit(acme, "=HYPERLINK Evil", "@corp", 20, True)
    _db.session.commit()
    sign_in(client, booth)

    response = client.get("/booth/visitors.csv?day=2026-04-07")

    assert (response.status_code, response.mimetype, response.headers["Cache-Control"]) == (200, "text/csv", "no-store")
    assert response.headers["Content-Disposition"] == f'attachment; filename="visitors-{acme.code}-2026-04-07.csv"'
    assert response.get_data(as_text=True) == (
        "Stamped at (Europe/Paris),Name,Company\r\n"
        "2026-04-07 11:05,Ada Lovelace,Analytical Engines\r\n"
        "2026-04-07 11:20,'=HYPERLINK Evil,'@corp\r\n")


def test_visitors_of_another_day_of_the_station(client, clock, acme, booth):
    _visit(acme, "Ada Lovelace", "Analytical Engines", 5, True)
    _visit(acme, "Katherine Johnson", "NASA", 30, True, day_offset=1)
    _db.session.commit()
    sign_in(client, booth)
    clock.set(datetime(2026, 4, 8, 12, 0, tzinfo=UTC))

    today = client.get("/booth/visitors")
    yesterday = client.get("/booth/visitors?day=2026-04-07")
    elsewhere = client.get("/booth/visitors?day=2026-04-10")
    nonsense = client.get("/booth/visitors?day=yesterday")

    assert _texts(today, "//table[@data-table='visitors']//td[2]") == ["Katherine Johnson"]
    assert _texts(yesterday, "//table[@data-table='visitors']//td[2]") == ["Ada Lovelace"]
    assert _texts(today, "//nav[@class='day-tabs']//a") == ["Tue 7 Apr", "Wed 8 Apr"]
    assert (elsewhere.status_code, nonsense.status_code) == (404, 404)


def test_visitors_without_any_consent_show_the_count_only(client, acme, booth):
    _visit(acme, "Grace Hopper", "US Navy", 10, False)
    _db.session.commit()
    sign_in(client, booth)

    page = client.get("/booth/visitors")

    assert _texts(page, "//*[@data-stamp-count]") == ["1"]
    assert _doc(page).xpath("//table") == []
    assert _texts(page, "//*[@class='empty-state']") == ["None of these visitors agreed to share their name."]
