"""The schedule on a phone-sized Chromium: filters, a session page, offline via the service
worker, and the time-zone switch. Screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from companion.extensions import db
from companion.schedule.models import Session, Speaker

from tests.browser.pages import assert_fits_the_phone, watch_errors, wait_until

pytestmark = pytest.mark.browser


def _code(app: Flask, model: type[Session] | type[Speaker], **where: str) -> str:
    with app.app_context():
        column = next(iter(where))
        return db.session.scalar(select(model.code).where(getattr(model, column) == where[column]))




def _wait_for_service_worker(page: Page) -> None:
    """Wait until the service worker controls the page, reloading once if it came too late."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if page.evaluate("navigator.serviceWorker.controller === null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")
    # The worker saves the pages open when it takes over; wait until this one is saved.
    wait_until(page, "caches.match(location.href).then((found) => !!found)")


def test_schedule_filter_session_and_offline(page: Page, context: BrowserContext, live_server: str,
                                             schedule: None, app: Flask, artifacts_dir: Path) -> None:
    errors = watch_errors(page)
    response = page.goto(f"{live_server}/schedule")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Schedule Tuesday 7 April 2026")
    expect(page.locator("section.slot .session-title a")).to_have_text([
        "Opening Keynote", "Compilers for Everyone", "Serving Models at Scale",
        "Lightning Talk: Tiny Tensors", "Coffee Break",
    ])
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "schedule-390.png", full_page=True)

    page.locator("summary", has_text="Filter and search").click()
    page.get_by_label("Room", exact=True).select_option(label="Junior Stage")
    page.get_by_role("button", name="Show sessions").click()
    page.wait_for_url("**/schedule?*room=junior-stage*")
    expect(page.locator("section.slot .session-title a")).to_have_text(["Serving Models at Scale"])
    expect(page.get_by_label("Room", exact=True)).to_have_value("junior-stage")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "schedule-filtered-390.png", full_page=True)

    page.locator("section.slot").get_by_role("link", name="Serving Models at Scale").click()
    page.wait_for_url("**/sessions/*")
    expect(page.locator("h1")).to_have_text("Serving Models at Scale")
    _wait_for_service_worker(page)
    # Chromium's own verdict on the manifest, icons and worker: installable as an app.
    cdp = context.new_cdp_session(page)
    errors_found = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    assert [e for e in errors_found if e != "in-incognito"] == []  # Playwright's contexts are incognito
    cdp.detach()

    context.set_offline(True)
    try:
        response = page.reload()
        assert response is not None and response.from_service_worker
        expect(page.locator("h1")).to_have_text("Serving Models at Scale")
        expect(page.locator("dl.facts dd").first).to_have_text("Tue 7 Apr, 09:50–10:15")
        # The stylesheet came from the cache too: the header is the brand blue.
        assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") == "rgb(22, 50, 92)"
        assert_fits_the_phone(page)
        page.screenshot(path=artifacts_dir / "session-offline-390.png", full_page=True)

        grace = _code(app, Speaker, name="Grace Hopper")
        response = page.goto(f"{live_server}/speakers/{grace}")
        assert response is not None and response.from_service_worker
        expect(page.locator("h1")).to_have_text("You're offline")
        expect(page.locator("[data-saved-pages] a")).to_contain_text(["Serving Models at Scale"])
        page.screenshot(path=artifacts_dir / "offline-390.png", full_page=True)
    finally:
        context.set_offline(False)

    response = page.goto(f"{live_server}/speakers/{grace}")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_text("Grace Hopper")
    expect(page.locator(".session-title a")).to_have_text(["Compilers for Everyone", "Hands-on: Profiling"])
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "speaker-390.png", full_page=True)

    page.get_by_role("link", name="Junior Stage").last.click()
    page.wait_for_url("**/rooms/junior-stage")
    expect(page.locator("h1")).to_have_text("Junior Stage")
    page.goto(f"{live_server}/rooms/founders-cafe")
    expect(page.locator("h1")).to_have_text("Founders Cafe")
    # 11:00 in Paris (the test clock): the coffee break is on in the café.
    expect(page.locator("section.now-next li.session .session-title")).to_have_text(["Coffee Break"])
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "room-390.png", full_page=True)
    # Offline, the browser logs the failed fetches the worker answered for; nothing else may fail.
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_time_zone_switch_shows_browser_time_and_remembers(new_context, live_server: str, schedule: None,
                                                            app: Flask, artifacts_dir: Path) -> None:
    context = new_context(timezone_id="America/New_York")
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    keynote = page.locator("li.session", has_text="Opening Keynote").last
    slot_time = page.locator("section.slot h2 time").first
    note = page.locator("[data-tz-text]")
    expect(slot_time).to_have_text("09:00")
    expect(keynote.locator(".session-when")).to_have_text("09:00–09:30 · Master Stage")
    expect(note).to_have_text("Times are in Europe/Paris (CEST), the conference's time zone.")

    switch = page.get_by_role("button", name="Show times in my time zone")
    switch.click()
    expect(slot_time).to_have_text("03:00")
    expect(keynote.locator(".session-when")).to_have_text("03:00–03:30 · Master Stage")
    expect(note).to_have_text(
        "Times are in your time zone, America/New_York (EDT). The conference runs on Europe/Paris time.")
    back = page.get_by_role("button", name="Show times in conference time (Europe/Paris)")
    expect(back).to_have_attribute("aria-pressed", "true")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "schedule-my-zone-390.png", full_page=True)

    page.reload()  # the choice is remembered
    expect(slot_time).to_have_text("03:00")
    session = _code(app, Session, title="Opening Keynote")
    page.goto(f"{live_server}/sessions/{session}")
    expect(page.locator("dl.facts dd").first).to_have_text("Tue 7 Apr, 03:00–03:30")

    page.get_by_role("button", name="Show times in conference time (Europe/Paris)").click()
    expect(page.locator("dl.facts dd").first).to_have_text("Tue 7 Apr, 09:00–09:30")
    expect(page.locator("[data-tz-text]")).to_have_text("Times are in Europe/Paris (CEST), the conference's time zone.")
    assert errors == []
