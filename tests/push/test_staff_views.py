"""Staff push pages: announcements (preview, then send or schedule) and the push health panel."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import lxml.html
import pytest
from sqlalchemy import func, insert, select

from companion.accounts.models import AuditEvent, User
from companion.push.models import Announcement, PushMessage, PushPreferences, PushSubscription
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.concurrency import run_at_once
from tests.factories import load_schedule
from tests.push.test_health import APPLE, FCM, MOZILLA, message, subscribe

PAGE = "/staff/announcements"
PANEL = "/staff/push"
NOW = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # the clock fixture's moment: 11:00 in Paris (CEST)
EVERYONE_EMPTY = "Nobody in “Everyone” has notifications turned on: there is no one to send this to."


def _staff(client, role: str = "staff") -> User:
    user = make_user(role=role)
    sign_in(client, user)
    return user


def _csrf(client) -> str:
    return csrf_from(client.get(PAGE).get_data(as_text=True))


def _post(client, confirm: bool = False, **values: str):
    data = {"title": "Raffle in 15 minutes", "body": "Come to the expo hall: the daily raffle draws at 15:45.",
            "link": "/schedule", "audience": "everyone", "send_at": "", **values}
    if confirm:
        data["confirm"] = "1"
    return client.post(PAGE, data={"csrf_token": _csrf(client), **data})


_SIMPLE = re.compile(r"([a-z0-9]+)|\.([\w-]+)|#([\w-]+)|\[([\w-]+)(?:=([\w-]+))?\]")


def _xpath(css: str) -> str:
    """The few CSS selectors these tests use (tag, .class, #id, [attr], [attr=value], descendants,
    commas) as XPath: lxml's cssselect needs a package the project does not install."""
    paths = []
    for group in css.split(","):
        steps = []
        for compound in group.split():
            tag, tests = "*", []
            for name, cls, ident, attr, value in _SIMPLE.findall(compound):
                if name:
                    tag = name
                elif cls:
                    tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')")
                elif ident:
                    tests.append(f"@id='{ident}'")
                else:
                    tests.append(f"@{attr}='{value}'" if value else f"@{attr}")
            steps.append(tag + "".join(f"[{test}]" for test in tests))
        paths.append(".//" + "//".join(steps))
    return " | ".join(paths)


def _select(node, css: str) -> list:
    return node.xpath(_xpath(css))


def _doc(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _one(response, selector: str) -> str:
    (node,) = _select(_doc(response), selector)
    return _text(node)


def _saved(db) -> tuple[int, int]:
    """(announcements, audit events): both 0 after anything that must save nothing."""
    return (db.scalar(select(func.count()).select_from(Announcement)),
            db.scalar(select(func.count()).select_from(AuditEvent)))


def _audience(db) -> dict[str, User]:
    """Ada: two devices; Grace: one; Alan: one flagged device only; Edsger: announcements turned off."""
    people = {name: make_user(name=name) for name in ("Ada", "Grace", "Alan", "Edsger")}
    subscribe(people["Ada"], FCM)
    subscribe(people["Ada"], APPLE)
    subscribe(people["Grace"], MOZILLA)
    subscribe(people["Alan"], FCM, flagged_at=NOW - timedelta(hours=1), reason="403")
    subscribe(people["Edsger"], FCM)
    db.add(PushPreferences(user_id=people["Edsger"].id, announcements=False, updated_at=NOW))
    db.commit()
    return people


# --- who may use the pages -----------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [("GET", PAGE), ("POST", PAGE), ("GET", PANEL)])
def test_pages_send_signed_out_visitors_to_sign_in(client, db, method, url):
    data = {"csrf_token": csrf_from(client.get("/sign-in").get_data(as_text=True)), "title": "x", "body": "y",
            "audience": "everyone", "confirm": "1"} if method == "POST" else None

    response = client.open(url, method=method, data=data)

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/sign-in"
    assert _saved(db) == (0, 0)


@pytest.mark.parametrize("who", ["attendee", "booth"])
@pytest.mark.parametrize(("method", "url"), [("GET", PAGE), ("POST", PAGE), ("GET", PANEL)])
def test_pages_refuse_attendees_and_booth_staff(client, db, who, method, url):
    _audience(db)
    person = make_attendee().user if who == "attendee" else make_user(role="booth", booth_code="acme")
    sign_in(client, person)
    data = {"csrf_token": csrf_from(client.get("/sign-in").get_data(as_text=True)), "title": "x", "body": "y",
            "audience": "everyone", "confirm": "1"} if method == "POST" else None

    response = client.open(url, method=method, data=data)

    assert response.status_code == 403
    assert "This is for staff only." in response.get_data(as_text=True)
    assert _saved(db) == (0, 0)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_and_admins_see_both_pages_linked_from_the_staff_home(client, db, role):
    _staff(client, role)

    home = client.get("/staff/")

    links = {_text(a): a.get("href") for a in _select(_doc(home), ".staff-links a")}
    assert (links["Announcements"], links["Push health"]) == (PAGE, PANEL)
    assert "Push a message to everyone or to a group" in home.get_data(as_text=True)
    for url in (PAGE, PANEL):
        response = client.get(url)
        assert (response.status_code, response.headers["Cache-Control"]) == (200, "no-store")


# --- the announcement form -----------------------------------------------------------------


def test_announcement_form_offers_the_registered_audiences(client, db):
    _staff(client)

    page = client.get(PAGE)

    options = [(o.get("value"), _text(o), o.get("selected"))
               for o in _select(_doc(page), "select[name=audience] option")]
    assert options[:2] == [("everyone", "Everyone", "selected"), ("checked_in", "Checked-in attendees", None)]
    assert _one(page, ".empty-state") == "No announcements yet."
    body = page.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body


def test_preview_shows_who_it_would_reach_and_saves_nothing(client, db):
    _audience(db)
    _staff(client)

    response = _post(client)

    assert response.status_code == 200
    assert _one(response, "[data-reach]") == "This will go to 2 people on 3 devices."
    assert _one(response, "[data-when]") == "Now"
    confirm = _select(_doc(response), "form[data-confirm-form]")[0]
    values = dict(confirm.form_values())
    assert re.fullmatch(r"[\w-]{43}", values.pop("request_key"))
    assert values == {
        "csrf_token": confirm.inputs["csrf_token"].value, "title": "Raffle in 15 minutes",
        "body": "Come to the expo hall: the daily raffle draws at 15:45.", "link": "/schedule",
        "audience": "everyone", "send_at": "", "confirm": "1"}
    assert _text(_select(confirm, "button")[0]) == "Send now"
    assert _saved(db) == (0, 0)
    assert db.scalar(select(func.count()).select_from(PushMessage)) == 0


def test_preview_counts_with_thousands_separators(client, db):
    db.execute(insert(User), [{"email": f"p{n}@example.org", "name": f"P {n}", "session_version": 1, "created_at": NOW}
                              for n in range(1000)])
    ids = db.scalars(select(User.id).order_by(User.id)).all()
    db.execute(insert(PushSubscription), [
        {"user_id": user_id, "endpoint": f"https://{FCM}/fcm/send/{n}", "p256dh": "p", "auth": "a",
         "service_host": FCM, "created_at": NOW} for n, user_id in enumerate([*ids, ids[0]])])
    db.commit()
    _staff(client)

    response = _post(client)

    assert _one(response, "[data-reach]") == "This will go to 1,000 people on 1,001 devices."


def test_preview_for_checked_in_attendees_counts_only_them(client, db):
    _audience(db)
    attendee = make_attendee(name="Barbara")
    attendee.checked_in_at = NOW - timedelta(hours=1)
    subscribe(attendee.user, APPLE)
    _staff(client)

    response = _post(client, audience="checked_in")

    assert _one(response, "[data-reach]") == "This will go to 1 person on 1 device."


def test_confirm_saves_one_announcement_and_audits_it(client, db):
    _audience(db)
    staff = _staff(client)

    response = _post(client, confirm=True)

    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == PAGE
    (saved,) = db.scalars(select(Announcement)).all()
    assert (saved.title, saved.body, saved.link, saved.audience, saved.send_at, saved.created_by_id, saved.created_at,
            saved.planned_at, saved.recipients) == (
        "Raffle in 15 minutes", "Come to the expo hall: the daily raffle draws at 15:45.", "/schedule", "everyone",
        NOW, staff.id, NOW, None, None)
    assert len(saved.code) == 8
    (event,) = db.scalars(select(AuditEvent)).all()
    assert (event.action, event.subject, event.actor_id, event.at, event.details) == (
        "announcement.create", saved.code, staff.id, NOW,
        {"title": "Raffle in 15 minutes", "audience": "everyone", "link": "/schedule",
         "send_at": "2026-04-07T09:00:00+00:00", "people": 2, "devices": 3})
    page = client.get(PAGE)
    assert _one(page, ".notice-done") == "“Raffle in 15 minutes” is on its way to Everyone: 2 people on 3 devices."
    (item,) = _select(_doc(page), "[data-announcement]")
    assert item.get("data-announcement") == saved.code
    assert [_text(n) for n in _select(item, "strong, [data-audience], time, [data-state]")] == [
        "Raffle in 15 minutes", "Everyone", "Tue 7 Apr 09:00", "Waiting for a push worker"]


def test_pressing_send_twice_saves_one_announcement(app, client, db):
    _audience(db)
    staff = _staff(client)
    confirm = dict(_select(_doc(_post(client)), "form[data-confirm-form]")[0].form_values())

    first = client.post(PAGE, data=confirm)
    second = client.post(PAGE, data=confirm)

    assert (first.status_code, second.status_code) == (303, 303)
    assert _saved(db) == (1, 1)
    assert [_text(n) for n in _select(_doc(client.get(PAGE)), ".notice-done")] == [
        "“Raffle in 15 minutes” is on its way to Everyone: 2 people on 3 devices.",
        "This announcement was already saved (the button was pressed twice); it is not sent again."]
    assert db.scalars(select(AuditEvent.actor_id)).all() == [staff.id]


def test_ten_concurrent_sends_of_one_confirm_form_save_one_announcement(app, client, db):
    _audience(db)
    staff = _staff(client)
    confirm = dict(_select(_doc(_post(client)), "form[data-confirm-form]")[0].form_values())
    with client.session_transaction() as session:
        cookie_session = dict(session)

    def press(_: int) -> int:
        twin = app.test_client()
        with twin.session_transaction() as session:
            session.update(cookie_session)
        return twin.post(PAGE, data=confirm, headers={"User-Agent": client.environ_base.get("HTTP_USER_AGENT", "")}).status_code

    statuses = run_at_once(app, 10, press)

    assert statuses == [303] * 10
    assert _saved(db) == (1, 1)
    assert db.scalars(select(Announcement.created_by_id)).all() == [staff.id]


def test_confirm_with_an_empty_link_saves_none(client, db):
    _audience(db)
    _staff(client)

    assert _post(client, confirm=True, link="  ").status_code == 303

    assert db.scalars(select(Announcement.link)).all() == [None]


@pytest.mark.parametrize("confirm", [False, True])
def test_an_empty_audience_is_refused_and_nothing_is_saved(client, db, confirm):
    make_user(name="No device")
    _staff(client)

    response = _post(client, confirm=confirm)

    assert response.status_code == 400
    assert _one(response, "#audience-error") == EVERYONE_EMPTY
    assert _one(response, "[data-form-error]") == f"Nothing was sent. {EVERYONE_EMPTY}"
    assert _select(_doc(response), "[data-preview]") == []
    assert _saved(db) == (0, 0)


@pytest.mark.parametrize("title", ["", "   ", "x" * 121])
@pytest.mark.parametrize("confirm", [False, True])
def test_an_empty_or_too_long_title_is_refused(client, db, title, confirm):
    _audience(db)
    _staff(client)

    response = _post(client, confirm=confirm, title=title)

    assert response.status_code == 400
    assert _one(response, "#title-error") == "The title must have 1 to 120 characters."
    assert _select(_doc(response), "#title")[0].get("aria-invalid") == "true"
    assert _saved(db) == (0, 0)


def test_a_title_of_120_characters_is_fine(client, db):
    _audience(db)
    _staff(client)

    assert _post(client, confirm=True, title="x" * 120).status_code == 303

    assert db.scalars(select(Announcement.title)).all() == ["x" * 120]


@pytest.mark.parametrize(("link", "message"), [
    ("javascript:alert(1)", "The link must be a page of this site (starting with /) or an https:// address."),
    ("http://example.org/", "The link must be a page of this site (starting with /) or an https:// address."),
    ("//evil.example/", "The link must be a page of this site (starting with /) or an https:// address."),
    ("/" + "a" * 500, "The link must have at most 500 characters."),
])
@pytest.mark.parametrize("confirm", [False, True])
def test_a_bad_link_is_refused(client, db, link, message, confirm):
    _audience(db)
    _staff(client)

    response = _post(client, confirm=confirm, link=link)

    assert response.status_code == 400
    assert _one(response, "#link-error") == message
    assert _saved(db) == (0, 0)


def test_a_body_with_line_breaks_survives_the_preview_unchanged(client, db):
    _audience(db)
    _staff(client)
    body = "Raffle at 15:45.\r\nExpo hall, booth 12."

    preview = _post(client, body=body)
    confirm = dict(_select(_doc(preview), "form[data-confirm-form]")[0].form_values())
    response = client.post(PAGE, data=confirm)

    assert response.status_code == 303
    assert db.scalars(select(Announcement.body)).all() == ["Raffle at 15:45.\nExpo hall, booth 12."]


# --- scheduling in the conference's zone ----------------------------------------------------


def test_a_scheduled_time_is_the_conference_zones_wall_clock(client, db):
    load_schedule()  # Europe/Paris: CEST, UTC+2 in April
    _audience(db)
    _staff(client)

    preview = _post(client, send_at="2026-04-07T15:45")

    assert _one(preview, "[data-when]") == "Tue 7 Apr 15:45 (Europe/Paris)"
    assert _one(preview, "[data-reach]") == ("This will go to 2 people on 3 devices (counted now: the audience is "
                                             "counted again when it is sent).")
    assert _text(_select(_doc(preview), "form[data-confirm-form] button")[0]) == "Schedule"
    assert _saved(db) == (0, 0)

    response = _post(client, confirm=True, send_at="2026-04-07T15:45")

    assert response.status_code == 303
    assert db.scalars(select(Announcement.send_at)).all() == [datetime(2026, 4, 7, 13, 45, tzinfo=UTC)]
    (event,) = db.scalars(select(AuditEvent)).all()
    assert event.details["send_at"] == "2026-04-07T13:45:00+00:00"
    page = client.get(PAGE)
    assert _one(page, ".notice-done") == ("“Raffle in 15 minutes” is scheduled for Tue 7 Apr 15:45 (Europe/Paris), "
                                          "to Everyone: 2 people on 3 devices as of now.")
    assert [_text(n) for n in _select(_doc(page), "[data-announcement] time, [data-announcement] [data-state]")] == [
        "Tue 7 Apr 15:45", "Scheduled"]
    assert _select(_doc(page), "[data-announcement] time")[0].get("datetime") == "2026-04-07T13:45:00Z"


def test_a_past_time_sends_at_once_and_the_preview_says_so(client, db):
    load_schedule()
    _audience(db)
    _staff(client)

    preview = _post(client, send_at="2026-04-07T10:30")  # 08:30 UTC, half an hour ago

    assert _one(preview, "[data-when]") == "Now"
    assert "The time you gave has passed" in _one(preview, "[data-preview]")
    assert _post(client, confirm=True, send_at="2026-04-07T10:30").status_code == 303
    assert db.scalars(select(Announcement.send_at)).all() == [NOW]


@pytest.mark.parametrize(("send_at", "message"), [
    ("tomorrow", "Give the date and time as 2026-04-07 15:30, or leave it empty to send now."),
    ("2026-04-08", "Give the date and time as 2026-04-07 15:30, or leave it empty to send now."),
    ("2027-03-28T02:30", "02:30 on 28 March does not exist in Europe/Paris: the clocks go forward then. "
                         "Choose another time."),
    ("2026-05-09T12:00", "The sending time must be within 30 days."),
])
def test_an_unusable_time_is_refused(client, db, send_at, message):
    load_schedule()
    _audience(db)
    _staff(client)

    response = _post(client, confirm=True, send_at=send_at)

    assert response.status_code == 400
    assert _one(response, "#send_at-error") == message
    assert _saved(db) == (0, 0)


def test_the_list_shows_what_became_of_sent_announcements(client, db):
    people = _audience(db)
    ada = people["Ada"]
    devices = db.scalars(select(PushSubscription).order_by(PushSubscription.id)).all()
    sent = Announcement(code="RAFFLE15", title="Raffle now", body="Expo hall", link=None, audience="everyone",
                        send_at=NOW - timedelta(minutes=20), created_at=NOW - timedelta(minutes=30),
                        planned_at=NOW - timedelta(minutes=20), recipients=3)
    later = Announcement(code="KEYNOTE9", title="Keynote soon", body="Master Stage", link=None, audience="gone_segment",
                         send_at=NOW + timedelta(hours=2), created_at=NOW - timedelta(minutes=10))
    db.add_all([sent, later])
    db.commit()
    for device, status in zip(devices[:4], ("sent", "sent", "failed", "pending"), strict=True):
        message(ada, status, subscription=device, kind="announcement", dedupe_key="announcement:RAFFLE15",
                finished_at=NOW if status in ("sent", "failed") else None)
    _staff(client)

    page = client.get(PAGE)

    items = _select(_doc(page), "[data-announcement]")
    assert [item.get("data-announcement") for item in items] == ["KEYNOTE9", "RAFFLE15"]
    assert [_text(n) for n in _select(items[0], "[data-audience], time, [data-state]")] == [
        "gone_segment", "Tue 7 Apr 11:00", "Scheduled"]
    assert _select(items[0], "[data-delivery]") == []
    assert [_text(n) for n in _select(items[1], "[data-audience], time, [data-state], [data-delivery]")] == [
        "Everyone", "Tue 7 Apr 08:40", "Sent to 3 people", "Delivered to 2 of 4 devices, 1 failed, 1 still to send."]


# --- the health panel ----------------------------------------------------------------------


def _stats(response, group: str) -> dict[str, str]:
    return {dd.get("data-stat"): _text(dd) for dd in _select(_doc(response), f"[data-figures={group}] dd")}


def _rows(response, table: str) -> list[list[str]]:
    rows = _select(_doc(response), f"[data-table={table}] tbody tr")
    return [[_text(cell) for cell in _select(row, "td")] for row in rows]


def test_health_panel_shows_the_figures_of_the_rows(client, db):
    load_schedule()  # times on the panel in Europe/Paris
    ada, grace = make_user(), make_user()
    for _ in range(3):
        subscribe(ada, FCM)
    apple = subscribe(grace, APPLE)
    refused = subscribe(grace, MOZILLA, flagged_at=NOW - timedelta(minutes=12), reason="403: bad VAPID subject")
    for minutes in (1, 20, 59):
        message(ada, "sent", finished_at=NOW - timedelta(minutes=minutes))
    message(ada, "sent", finished_at=NOW - timedelta(minutes=61))
    message(ada, "failed", finished_at=NOW - timedelta(minutes=3), subscription=apple, last_error="413: too large",
            kind="announcement")
    message(ada, "failed", finished_at=NOW - timedelta(hours=5), subscription=refused,
            last_error="403: bad VAPID subject", kind="reminder")
    message(ada, "expired", finished_at=NOW - timedelta(minutes=7))
    message(ada, "pending", due_at=NOW - timedelta(minutes=3, seconds=20))
    message(ada, "pending", due_at=NOW + timedelta(minutes=4))
    message(ada, "sending", due_at=NOW - timedelta(seconds=30))
    _staff(client)

    page = client.get(PANEL)

    assert page.status_code == 200
    assert _stats(page, "last-hour") == {"sent": "3", "failed": "1", "expired": "1"}
    assert _stats(page, "queue") == {"queue_depth": "3", "pending": "2", "sending": "1", "due": "1",
                                     "oldest_due_age": "3 min 20 s"}
    assert _one(page, "[data-stale-queue]").startswith("Due messages have waited 3 min 20 s")
    assert _one(page, "[data-devices]") == "4 live devices, 1 flagged."
    assert _rows(page, "hosts") == [[FCM, "3", "0"], [APPLE, "1", "0"], [MOZILLA, "0", "1"]]
    assert _rows(page, "flagged") == [[MOZILLA, "Tue 7 Apr 10:48:00", "403: bad VAPID subject"]]
    assert _rows(page, "failures") == [["Tue 7 Apr 10:57:00", "announcement", APPLE, "413: too large"],
                                       ["Tue 7 Apr 06:00:00", "reminder", MOZILLA, "403: bad VAPID subject"]]
    assert _rows(page, "causes") == [["413: too large", "1"]]
    body = page.get_data(as_text=True)
    assert refused.endpoint not in body and "/fcm/send/" not in body  # hosts only: endpoints are capabilities
    assert "<script>" not in body and " style=" not in body


def test_health_panel_chart_draws_one_bar_per_host(client, db):
    ada = make_user()
    for _ in range(4):
        subscribe(ada, FCM)
    subscribe(ada, APPLE)
    _staff(client)

    page = client.get(PANEL)

    (img,) = _select(_doc(page), "img[data-hosts-chart]")
    description = f"Live devices by push service: {FCM}: 4, {APPLE}: 1."
    assert img.get("alt") == description
    prefix = "data:image/svg+xml;base64,"
    assert img.get("src").startswith(prefix)
    svg = lxml.etree.fromstring(base64.b64decode(img.get("src")[len(prefix):]))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert svg.get("aria-label") == description
    assert [rect.get("width") for rect in svg.xpath("s:rect", namespaces=ns)] == ["340", "268.0", "67.0"]
    assert [t.text for t in svg.xpath("s:text", namespaces=ns)] == [FCM, "4", APPLE, "1"]


def test_health_panel_of_a_quiet_outbox(client, db):
    _staff(client)

    page = client.get(PANEL)

    assert _stats(page, "last-hour") == {"sent": "0", "failed": "0", "expired": "0"}
    assert _stats(page, "queue") == {"queue_depth": "0", "pending": "0", "sending": "0", "due": "0",
                                     "oldest_due_age": "nothing due"}
    assert _one(page, "[data-devices]") == "0 live devices."
    assert [_text(p) for p in _select(_doc(page), ".empty-state")] == ["No flagged devices.", "No failed messages."]
    assert _select(_doc(page), "img[data-hosts-chart]")[0].get("alt") == "Live devices by push service: none yet."


def test_health_panel_reloads_itself_only_when_asked(client, db):
    _staff(client)

    plain, auto = client.get(PANEL), client.get(f"{PANEL}?auto=1")

    assert _select(_doc(plain), "meta[http-equiv=refresh]") == []
    assert [m.get("content") for m in _select(_doc(auto), "meta[http-equiv=refresh]")] == ["30"]
    assert "Stop reloading" in _text(_doc(auto))
