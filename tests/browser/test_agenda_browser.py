"""Stars on a phone-sized Chromium: starred while signed out (kept on the phone), signed in through
the link of a real mail, merged into the account and shown in "My agenda"; a star whose request
fails says "not saved yet" and is saved once the network is back. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import select

from companion.agenda import services
from companion.agenda.models import Favourite
from companion.extensions import db
from companion.schedule.models import Session
from tests.accounts.factories import make_attendee
from tests.mailserver import Mailbox, first_link

from tests.browser.pages import assert_fits_the_phone, watch_errors, wait_until

pytestmark = pytest.mark.browser

EMAIL = "marie.curie@example.org"
FIRST_THREE = ["Opening Keynote", "Compilers for Everyone", "Serving Models at Scale"]
FOURTH = "Lightning Talk: Tiny Tensors"




def _favourites(app: Flask) -> list[str]:
    with app.app_context():
        titles = db.session.scalars(select(Session.title).join(Favourite).order_by(Session.starts_at)).all()
        db.session.remove()
        return list(titles)


def _abort_puts(route: Route) -> None:
    if route.request.method == "PUT":
        route.abort("internetdisconnected")
    else:
        route.continue_()


def test_stars_follow_me_from_the_phone_into_my_agenda_and_a_failed_star_is_not_lost(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, mailbox: Mailbox,
        schedule: None, artifacts_dir: Path) -> None:
    with app.app_context():
        make_attendee(email=EMAIL, name="Marie Curie")
        services.set_walking_time("Pier 1", "Pier 2", 20)
        db.session.commit()
        codes = dict(db.session.execute(select(Session.title, Session.code)).all())
    # Service workers blocked: page.route() does not see requests a service worker handles.
    context = browser.new_context(**{**browser_context_args, "service_workers": "block", "base_url": live_server})
    page = context.new_page()
    errors = watch_errors(page)

    # Signed out: three stars, kept on the phone.
    page.goto("/schedule?day=2026-04-07")
    slots = page.locator("section.slot")
    for title in FIRST_THREE:
        button = slots.get_by_role("button", name=f"Star {title}")
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
    hint = page.locator("[data-star-hint]")
    expect(hint).to_have_text("Your stars are kept on this phone. Sign in to keep your stars on all your devices.")
    assert page.evaluate("JSON.parse(localStorage.getItem('companion.stars'))") == [codes[t] for t in FIRST_THREE]
    page.reload()
    pressed = slots.locator("button[data-star][aria-pressed=true]")
    expect(pressed).to_have_count(3)
    assert_fits_the_phone(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=artifacts_dir / "stars-signed-out-390.png")
    assert _favourites(app) == []

    # Sign in with the link from the mail the app sent over SMTP: back on the schedule, merged.
    hint.get_by_role("link").click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    page.goto(first_link(mailbox.wait_for(EMAIL)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/schedule?day=2026-04-07")
    wait_until(page, "localStorage.getItem('companion.stars') === null")
    expect(pressed).to_have_count(3)
    expect(hint).to_have_count(0)
    assert _favourites(app) == FIRST_THREE

    page.get_by_role("link", name="Agenda", exact=True).click()
    page.wait_for_url(f"{live_server}/agenda")
    expect(page.locator("li.agenda-item h3 a")).to_have_text(FIRST_THREE)
    expect(page.locator("li.agenda-item.has-overlap h3 a")).to_have_text(FIRST_THREE[1:])

    # The star request fails: the star stays, says "not saved yet", and is saved once it can be.
    page.goto("/schedule?day=2026-04-07")
    page.route("**/api/v1/agenda/*", _abort_puts)
    fourth = slots.get_by_role("button", name=f"Star {FOURTH}")
    fourth.click()
    status = page.locator(f"form:has(button[data-star='{codes[FOURTH]}']) [data-star-status]")
    expect(fourth).to_have_attribute("aria-pressed", "true")
    expect(status).to_have_text("not saved yet")
    fourth.scroll_into_view_if_needed()
    page.screenshot(path=artifacts_dir / "star-not-saved-yet-390.png")
    assert _favourites(app) == FIRST_THREE
    page.reload()  # a new page still knows what was asked, and tries again (and fails again)
    expect(fourth).to_have_attribute("aria-pressed", "true")
    expect(status).to_have_text("not saved yet")

    page.unroute("**/api/v1/agenda/*")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(status).to_have_text("Saved")
    assert _favourites(app) == [*FIRST_THREE, FOURTH]
    assert page.evaluate("localStorage.getItem('companion.stars.pending')") is None

    page.get_by_role("link", name="Agenda", exact=True).click()
    page.wait_for_url(f"{live_server}/agenda")
    expect(page.locator("li.agenda-item h3 a")).to_have_text([*FIRST_THREE, FOURTH])
    expect(page.locator("li.agenda-between")).to_have_text([
        "15 min free", "15 min free Leave by 10:10: 20 min walk from Pier 1 to Pier 2, before “Serving Models at Scale” ends at 10:15."])
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "my-agenda-390.png", full_page=True)
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    context.close()


def test_a_shared_agenda_adds_its_sessions_to_the_stars_of_a_signed_out_phone(
        page: Page, live_server: str, app: Flask, schedule: None, artifacts_dir: Path) -> None:
    with app.app_context():
        user = make_attendee(email=EMAIL, name="Marie Curie").user
        for title in ("Opening Keynote", "Hands-on: Profiling"):
            services.star(user, db.session.scalars(select(Session).where(Session.title == title)).one(),
                          now=datetime(2026, 4, 7, 6, 0, tzinfo=UTC))
        token = services.share_agenda(user, now=datetime(2026, 4, 7, 6, 0, tzinfo=UTC)).token
        db.session.commit()
        codes = [db.session.scalar(select(Session.code).where(Session.title == t))
                 for t in ("Opening Keynote", "Hands-on: Profiling")]
    errors = watch_errors(page)

    page.goto(f"{live_server}/agenda/shared/{token}")
    expect(page.locator("h1")).to_have_text("Marie’s agenda")
    page.get_by_role("button", name="Add these to my agenda").click()

    expect(page.locator("[data-add-shared-status]")).to_have_text("Added 2 sessions to the stars on this phone.")
    expect(page.locator("button[data-star][aria-pressed=true]")).to_have_count(2)
    assert page.evaluate("JSON.parse(localStorage.getItem('companion.stars'))") == codes
    expect(page.locator("[data-star-hint]")).to_be_visible()
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "shared-agenda-added-390.png", full_page=True)
    assert [e for e in errors if "service worker" not in e.lower()] == []
