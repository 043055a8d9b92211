"""The Notifications page through the test client: who may open it, what it shows (the server's
key, my devices, my choices), and saving the choices (exact rows; a bad lead time or a missing
CSRF token saves nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest
from sqlalchemy import select

from companion.push import services
from companion.push.models import PushPreferences
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in

PAGE = "/me/notifications"
# A device's keys (a real P-256 point and 16 random bytes); the page never uses them.
KEY_A = "BFo5TbXZ2pFJO4WZ2xXKcj7pgDZyI90RsxUuPrJwKdmjbkr1ngaWFCD29c2qhuPr4nMLeGkvZD26JlKrZRVXtNc"
AUTH_A = "zEowbGIBBTfuRQvbO5HGOg"


@pytest.fixture
def ada(db, client, vapid):
    """Ada, signed in on ``client``; ``ada.csrf`` for the form."""
    user = make_attendee(email="ada@example.org", name="Ada Lovelace").user
    sign_in(client, user)
    user.csrf = csrf_from(client.get(PAGE).get_data(as_text=True))
    return user


def _page(client, path: str = PAGE, status: int = 200):
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)
    return lxml.html.fromstring(response.get_data(as_text=True))


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _choices(page) -> dict[str, object]:
    """What the form shows: each checkbox ticked or not, and the chosen lead time."""
    form = page.xpath('//form[@action="/me/notifications"]')[0]
    shown: dict[str, object] = {box.name: box.checked for box in form.xpath('.//input[@type="checkbox"]')}
    shown["lead_minutes"] = form.xpath('.//select[@name="lead_minutes"]')[0].value
    return shown


def _row(db, user) -> tuple | None:
    db.expire_all()
    row = db.get(PushPreferences, user.id)
    if row is None:
        return None
    return (row.reminders, row.lead_minutes, row.change_alerts, row.announcements, row.updated_at)


def _subscribe(db, user, n: int) -> None:
    services.subscribe(user, f"https://push.example.net/send/{user.id}-{n}", KEY_A, AUTH_A,
                       now=datetime(2026, 4, 7, 8, 0, tzinfo=UTC))
    db.commit()


# --- access ----------------------------------------------------------------------------------


def test_notifications_page_signed_out_is_sent_to_sign_in(client, db):
    response = client.get(PAGE)

    assert (response.status_code, response.headers["Location"]) == (302, "/sign-in?next=/me/notifications")


def test_saving_signed_out_is_sent_to_sign_in_and_saves_nothing(client, db):
    csrf = csrf_from(client.get("/sign-in").get_data(as_text=True))

    response = client.post(PAGE, data={"csrf_token": csrf, "reminders": "y", "lead_minutes": "5"})

    assert (response.status_code, response.headers["Location"]) == (302, "/sign-in?next=/me/notifications")
    assert db.scalars(select(PushPreferences)).all() == []


# --- the page --------------------------------------------------------------------------------


def test_notifications_page_shows_the_key_my_device_count_and_the_defaults(client, db, ada, vapid):
    other = make_user(email="someone.else@example.org")
    _subscribe(db, ada, 1)
    _subscribe(db, ada, 2)
    _subscribe(db, other, 1)

    response = client.get(PAGE)
    page = lxml.html.fromstring(response.get_data(as_text=True))

    assert response.headers["Cache-Control"] == "private, no-cache"
    device = page.xpath("//section[@data-push]")[0]
    assert (device.get("data-push-key"), device.get("data-push-devices")) == (vapid.public_key, "2")
    assert _text(device.xpath(".//*[@data-push-count]")[0]) == "2 of your devices get notifications."
    assert [_text(b) for b in device.xpath(".//button")] == [
        "Turn on notifications on this phone", "Turn off on this phone"]
    assert page.xpath("//*[@data-push-unavailable]") == []
    assert _choices(page) == {"reminders": True, "change_alerts": True, "announcements": True, "lead_minutes": "10"}
    assert [o.get("value") for o in page.xpath('//select[@name="lead_minutes"]/option')] == ["5", "10", "15", "30"]
    scripts = [s.get("src").split("?")[0] for s in page.xpath("//script[@src]")]
    assert "/static/js/push.js" in scripts
    assert page.xpath("//script[not(@src)]") == [] and page.xpath("//*[@style]") == []  # strict CSP


def test_notifications_page_counts_one_device_and_none(client, db, ada):
    assert _text(_page(client).xpath("//*[@data-push-count]")[0]) == "None of your devices gets notifications yet."
    _subscribe(db, ada, 1)
    assert _text(_page(client).xpath("//*[@data-push-count]")[0]) == "1 of your devices gets notifications."


def test_notifications_page_without_a_vapid_key_says_so_instead_of_the_button(client, db, ada, app, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # an instance folder with no key in it
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", None)

    page = _page(client)

    device = page.xpath("//section[@data-push]")[0]
    assert device.get("data-push-key") is None
    assert device.xpath(".//button") == []
    assert _text(device.xpath(".//*[@data-push-unavailable]")[0]) == "Notifications are not set up on this server yet."
    assert _choices(page)["lead_minutes"] == "10"  # the choices can still be made


def test_agenda_links_the_notifications_page(client, db, ada):
    page = _page(client, "/agenda")

    assert [_text(a) for a in page.xpath(f'//a[@href="{PAGE}"]')] == [
        "Notifications: reminders before my sessions, and changes"]


# --- saving ----------------------------------------------------------------------------------


def test_saving_preferences_stores_exactly_what_was_chosen(client, db, ada, clock):
    clock.set(datetime(2026, 4, 7, 7, 30, tzinfo=UTC))

    response = client.post(PAGE, data={"csrf_token": ada.csrf, "reminders": "y", "lead_minutes": "30",
                                       "announcements": "y"})

    assert (response.status_code, response.headers["Location"]) == (303, "/me/notifications")
    assert _row(db, ada) == (True, 30, False, True, datetime(2026, 4, 7, 7, 30, tzinfo=UTC))
    assert services.preferences_of(ada) == services.Preferences(reminders=True, lead_minutes=30, change_alerts=False,
                                                                announcements=True)
    page = _page(client)
    assert [_text(p) for p in page.xpath('//p[@role="status" and contains(@class, "notice")]')] == [
        "Your notification choices are saved."]
    assert _choices(page) == {"reminders": True, "change_alerts": False, "announcements": True, "lead_minutes": "30"}


def test_saving_again_updates_the_one_row(client, db, ada, clock):
    client.post(PAGE, data={"csrf_token": ada.csrf, "reminders": "y", "lead_minutes": "5"})
    clock.set(datetime(2026, 4, 7, 10, 0, tzinfo=UTC))

    response = client.post(PAGE, data={"csrf_token": ada.csrf, "lead_minutes": "15", "change_alerts": "y"})

    assert response.status_code == 303
    assert db.scalars(select(PushPreferences.user_id)).all() == [ada.id]
    assert _row(db, ada) == (False, 15, True, False, datetime(2026, 4, 7, 10, 0, tzinfo=UTC))


@pytest.mark.parametrize("lead", ["7", "", "ten", "300"])
def test_bad_lead_time_answers_400_with_the_error_and_saves_nothing(client, db, ada, lead):
    response = client.post(PAGE, data={"csrf_token": ada.csrf, "reminders": "y", "lead_minutes": lead})

    assert response.status_code == 400
    page = lxml.html.fromstring(response.get_data(as_text=True))
    assert [_text(p) for p in page.xpath('//p[@class="field-error"]')] == [
        "Choose how long before: 5, 10, 15 or 30 minutes."]
    assert page.xpath('//select[@name="lead_minutes"]')[0].get("aria-invalid") == "true"
    assert _row(db, ada) is None


def test_bad_lead_time_leaves_earlier_choices_as_they_were(client, db, ada, clock):
    client.post(PAGE, data={"csrf_token": ada.csrf, "reminders": "y", "lead_minutes": "5"})
    before = _row(db, ada)
    clock.set(datetime(2026, 4, 7, 11, 0, tzinfo=UTC))

    response = client.post(PAGE, data={"csrf_token": ada.csrf, "lead_minutes": "45"})

    assert response.status_code == 400
    assert _row(db, ada) == before == (True, 5, False, False, datetime(2026, 4, 7, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_saving_needs_the_csrf_token(client, db, ada, token):
    data = {"reminders": "y", "lead_minutes": "30"}
    if token:
        data["csrf_token"] = token

    response = client.post(PAGE, data=data)

    assert response.status_code == 400
    assert ("The CSRF token is missing." if token is None else "The CSRF token is invalid.") in response.get_data(
        as_text=True)
    assert _row(db, ada) is None
