"""My badge on a phone-sized Chromium: sign in through the link of a real mail, open the badge,
go offline, reload: the QR is still there and a screenshot of it scans as the badge URL.
Signing out removes the saved badge from the phone."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from tests.accounts.factories import make_attendee
from tests.mailserver import Mailbox, first_link

from tests.browser.pages import phone_with_camera, wait_until, watch_errors

pytestmark = pytest.mark.browser

EMAIL = "ada.lovelace@example.org"



def _cached(page: Page, path: str) -> bool:
    return bool(page.evaluate("async (path) => !!(await caches.match(path))", path))


def _decode_png(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_my_badge_opens_offline_and_its_qr_scans(page: Page, context: BrowserContext, live_server: str, app: Flask,
                                                 mailbox: Mailbox, schedule: None, artifacts_dir: Path) -> None:
    with app.app_context():
        token = make_attendee(email=EMAIL, name="Ada Lovelace", company="Analytical Engines",
                              ticket_type="Speaker").badge_token
    errors = watch_errors(page)

    # Sign in with the link from the mail the app sent over SMTP.
    page.goto(f"{live_server}/sign-in")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    link = first_link(mailbox.wait_for(EMAIL))
    assert link.startswith(f"{live_server}/sign-in/")
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/me/badge")

    page.get_by_role("link", name="Badge").click()
    page.wait_for_url(f"{live_server}/me/badge")
    expect(page.locator("h1")).to_have_text("My badge")
    expect(page.locator(".badge-name")).to_have_text("Ada Lovelace")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("[data-offline-status]")).to_be_visible()
    assert _cached(page, "/me/badge") and _cached(page, "/me/badge/qr.svg")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"

    context.set_offline(True)
    try:
        response = page.reload()
        assert response is not None and response.from_service_worker
        qr = page.locator("img.badge-qr")
        expect(qr).to_be_visible()
        wait_until(page, "document.querySelector('img.badge-qr').complete"
                         " && document.querySelector('img.badge-qr').naturalWidth > 0")
        # Big enough to scan from arm's length, and inside the 390 px screen with its margins.
        assert 300 <= qr.bounding_box()["width"] <= 358
        page.screenshot(path=artifacts_dir / "my-badge-offline-390.png", full_page=True)
        shot = qr.screenshot(path=artifacts_dir / "my-badge-qr-offline.png")
        assert _decode_png(shot) == [f"{live_server}/b/{token}"]
    finally:
        context.set_offline(False)

    # The sign-out module asks the worker to purge the private pages ...
    purged = page.evaluate("async () => (await import('/static/js/badge-signout.js')).purgePrivatePages()")
    assert purged is True
    assert not _cached(page, "/me/badge") and not _cached(page, "/me/badge/qr.svg")
    page.reload()
    wait_until(page, "caches.match('/me/badge/qr.svg').then((found) => !!found)")

    # ... and signing out takes the badge off the phone: offline, it is gone.
    page.goto(f"{live_server}/me")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{live_server}/schedule")
    wait_until(page, "Promise.all([caches.match('/me/badge'), caches.match('/me/badge/qr.svg')])"
                     ".then((found) => found.every((f) => !f))")
    context.set_offline(True)
    try:
        response = page.goto(f"{live_server}/me/badge")
        assert response is not None and response.from_service_worker
        expect(page.locator("h1")).to_have_text("You're offline")
    finally:
        context.set_offline(False)
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def _sign_in_at_the_door(page) -> None:  # noqa: ANN001 - a Playwright Page
    """Sam Door (staff, made by the test) signs in with a password on the staff sign-in page."""
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill("sam.door@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")


def _sign_in_without_a_page(context) -> None:  # noqa: ANN001 - a Playwright BrowserContext
    """Sam Door signs in through the staff form's HTTP requests alone: no page has run yet, so the
    service worker is not installed and the next page is the first one it will control."""
    form = context.request.get("/staff/sign-in").text()
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert csrf, "no CSRF field in the staff sign-in form"
    answer = context.request.post("/staff/sign-in", max_redirects=0, form={
        "csrf_token": csrf.group(1), "email": "sam.door@example.org", "password": "correct horse battery"})
    assert (answer.status, answer.headers.get("location")) == (302, "/staff/")


def test_scanner_checks_in_a_badge_seen_by_the_camera(browser_type, browser_type_launch_args, live_server: str,
                                                      app: Flask, schedule: None, tmp_path: Path,
                                                      artifacts_dir: Path) -> None:
    from companion.badges.qr import qr_png
    from tests.accounts.factories import make_user

    with app.app_context():
        token = make_attendee(email=EMAIL, name="Ada Lovelace", company="Analytical Engines").badge_token
        make_user(email="sam.door@example.org", name="Sam Door", role="staff", password="correct horse battery")
    badge = qr_png(f"{live_server}/b/{token}", box_size=8)
    with phone_with_camera(browser_type, browser_type_launch_args, badge, tmp_path, live_server) as context:
        page = context.new_page()
        errors = watch_errors(page)
        _sign_in_at_the_door(page)
        page.get_by_role("link", name="Check-in").click()
        page.wait_for_url("**/staff/check-in")
        expect(page.locator("[data-stat=checked_in]")).to_have_text("0")

        page.get_by_role("button", name="Start camera").click()
        result = page.locator("[data-scan-result] .checkin-result")
        expect(result).to_have_text("Checked in: Ada Lovelace Analytical Engines · Conference", timeout=20000)
        expect(result).to_have_attribute("data-result-kind", "new")
        expect(page.locator("[data-stat=checked_in]")).to_have_text("1")  # refreshed after the scan
        page.screenshot(path=artifacts_dir / "check-in-scanner-390.png", full_page=True)
        # The same badge again after the pause: "already", with the first time and name.
        expect(result).to_have_text("Already checked in at 11:00 by Sam Door (Ada Lovelace)", timeout=20000)
        expect(result).to_have_attribute("data-result-kind", "already")
        page.get_by_role("button", name="Stop camera").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px screen"
        assert errors == []


def test_a_check_in_scanned_while_the_door_is_offline_is_sent_once_when_back(
        browser_type, browser_type_launch_args, live_server: str, app: Flask, schedule: None, clock,
        tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from companion.accounts.models import Attendee, AuditEvent
    from companion.badges.qr import qr_png
    from companion.extensions import db
    from tests.accounts.factories import make_user

    with app.app_context():
        attendee = make_attendee(email=EMAIL, name="Ada Lovelace", company="Analytical Engines")
        token, attendee_id = attendee.badge_token, attendee.id
        staff_id = make_user(email="sam.door@example.org", name="Sam Door", role="staff",
                             password="correct horse battery").id
    badge = qr_png(f"{live_server}/b/{token}", box_size=8)
    with phone_with_camera(browser_type, browser_type_launch_args, badge, tmp_path, live_server) as context:
        _sign_in_without_a_page(context)
        assert context.service_workers == []  # none registered: the check-in page is the first to run
        page = context.new_page()
        page.goto("/staff/check-in")
        # Opened online, as the first page: the service worker installs while it runs, and once it
        # takes control the QR decoder's files are fetched ahead into its cache.
        wait_until(page, "caches.keys().then((names) => Promise.all(names.map((n) => caches.open(n).then((c) => c.keys()))))"
                         ".then((lists) => lists.flat().some((r) => r.url.includes('zxing_reader.wasm')))", timeout=20)

        context.set_offline(True)  # the door's Wi-Fi drops with the page open
        page.get_by_role("button", name="Start camera").click()
        result = page.locator("[data-scan-result] .checkin-result")
        expect(result).to_have_text("No connection: check-in kept on this phone. It is sent when the connection "
                                    "is back; let the person in.", timeout=20000)
        expect(result).to_have_attribute("data-result-kind", "already")
        page.get_by_role("button", name="Stop camera").click()
        waiting = page.evaluate("CompanionQueue.all().then((all) => all.map((e) => [e.kind, e.state, e.url]))")
        assert waiting and {tuple(e) for e in waiting} == {("check-in", "pending", "/api/v1/check-ins")}
        with app.app_context():
            assert db.session.get(Attendee, attendee_id).checked_in_at is None

        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        wait_until(page, "CompanionQueue.all().then((all) => all.every((e) => e.state === 'sent'))", timeout=20)
        messages = page.evaluate("CompanionQueue.all().then((all) => all.map((e) => e.result.message))")
        with app.app_context():
            checked = db.session.get(Attendee, attendee_id)
            events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                       .where(AuditEvent.action == "attendee.check_in"))
            assert (checked.checked_in_at, checked.checked_in_by_id) == (clock(), staff_id)
        # Every scan the camera made went out; the first checked Ada in, the others found her in.
        assert messages[0] == "Checked in: Ada Lovelace"
        assert set(messages[1:]) <= {"Already checked in: Ada Lovelace"}
        assert events == 1
