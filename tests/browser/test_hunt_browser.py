"""The hunt on a phone-sized Chromium: the scanner page reads a booth's rotating QR code from the
camera (Chromium's fake camera plays a generated video of it) and stamps it; the booth URL opened
directly asks before stamping; the card shows the progress and the raffle line.

The live server runs on the session's fake clock (2026-04-07 09:00 UTC, 11:00 in Paris), so the
booth code generated here stays the current one for the whole test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from companion.hunt import codes
from companion.hunt.models import Stamp
from tests.accounts.factories import make_attendee
from tests.browser.pages import assert_fits_the_phone, phone_with_camera, watch_errors
from tests.hunt.factories import DAY_ONE, make_station
from tests.mailserver import Mailbox, first_link

pytestmark = pytest.mark.browser

EMAIL = "ada.lovelace@example.org"


def test_scanner_stamps_the_booth_code_seen_by_the_camera(browser_type, browser_type_launch_args, live_server: str,
                                                         app: Flask, schedule: None, clock, mailbox: Mailbox,
                                                         tmp_path: Path, artifacts_dir: Path) -> None:
    from companion.badges.qr import qr_png
    from companion.extensions import db

    with app.app_context():
        user_id = make_attendee(email=EMAIL, name="Ada Lovelace", company="Analytical Engines").user_id
        acme = make_station("Acme AI")
        foundation = make_station("PyTorch Foundation", required=True, location="Main hall")
        acme_id, foundation_id = acme.id, foundation.id
        window = codes.window_of(clock())
        acme_code = codes.rotating_code(acme.code, acme.secret, window)
        foundation_code = codes.rotating_code(foundation.code, foundation.secret, window)
    booth = qr_png(f"{live_server}/h/{acme_code}", box_size=8)
    with phone_with_camera(browser_type, browser_type_launch_args, booth, tmp_path, live_server) as context:
        page = context.new_page()
        errors = watch_errors(page)

        # Signed out, the scanner sends Ada to sign in, and the mailed link brings her back to it.
        page.goto("/hunt/scan")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_role("button", name="Send me a sign-in link").click()
        page.goto(first_link(mailbox.wait_for(EMAIL)))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/hunt/scan")
        expect(page.locator("h1")).to_have_text("Scan a booth code")

        # The camera was allowed: it starts by itself, reads the booth's QR and stamps it.
        result = page.locator("[data-scan-result] .checkin-result")
        expect(result).to_have_text("Stamped at Acme AI.", timeout=20000)
        expect(result).to_have_attribute("data-result-kind", "new")
        expect(page.locator("[data-progress-text]")).to_have_text("1 of 2 stamps")
        expect(page.locator("[data-video]")).to_be_hidden()  # the camera stops after a stamp
        expect(page.get_by_role("button", name="Scan another booth")).to_be_visible()
        assert_fits_the_phone(page)
        page.screenshot(path=artifacts_dir / "hunt-scanner-390.png", full_page=True)
        with app.app_context():
            stamps = [(s.user_id, s.station_id, s.day, s.stamped_at, s.method, s.share_contact)
                      for s in db.session.scalars(select(Stamp))]
        assert stamps == [(user_id, acme_id, DAY_ONE, clock(), "code", False)]

        # The phone's own camera app opens the booth URL: the page asks, the button stamps.
        page.goto(f"/h/{foundation_code}")
        expect(page.locator("h1")).to_have_text("Collect your stamp at PyTorch Foundation?")
        page.get_by_label("Let this booth see my name and company").check()
        page.get_by_role("button", name="Collect stamp").click()
        expect(page.locator(".checkin-result")).to_have_text("Stamped at PyTorch Foundation.")

        page.get_by_role("link", name="Hunt", exact=True).click()
        page.wait_for_url(f"{live_server}/hunt")
        expect(page.locator("[data-progress-text]")).to_have_text("2 of 2 stamps")
        expect(page.locator("[data-progress-complete]")).to_have_text(
            "Your card is complete: you are in today's raffle.")
        expect(page.locator(".hunt-station .hunt-stamp-state")).to_have_text(["Stamped at 11:00", "Stamped at 11:00"])
        assert_fits_the_phone(page)
        page.screenshot(path=artifacts_dir / "hunt-card-390.png", full_page=True)
        with app.app_context():
            assert db.session.scalars(select(Stamp.share_contact).where(Stamp.station_id == foundation_id)).all() == [
                True]
        assert errors == []


def test_typed_code_stamps_through_the_api(page, live_server: str, app: Flask, schedule: None, clock,
                                           mailbox: Mailbox) -> None:
    """No camera (the permission was not given): pasting the code works, and a wrong one says why."""
    with app.app_context():
        make_attendee(email=EMAIL, name="Ada Lovelace")
        acme = make_station("Acme AI")
        code = codes.rotating_code(acme.code, acme.secret, codes.window_of(clock()))
    errors = watch_errors(page)
    page.goto(f"{live_server}/sign-in?next=/hunt/scan")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.goto(first_link(mailbox.wait_for(EMAIL)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/hunt/scan")

    page.get_by_label("Type or paste the booth's code").fill("ACME-B12")
    page.get_by_role("button", name="Collect stamp").click()
    result = page.locator("[data-scan-result] .checkin-result")
    expect(result).to_have_text("This is not a hunt code. Scan the QR code on the booth's screen.")
    page.get_by_label("Type or paste the booth's code").fill(code)
    page.get_by_role("button", name="Collect stamp").click()
    expect(result).to_have_text("Stamped at Acme AI.")
    expect(page.locator("[data-progress-text]")).to_have_text("1 of 1 stamp")
    expect(page.locator("[data-progress-complete]")).to_be_visible()
    expect(page.get_by_label("Type or paste the booth's code")).to_have_value("")
    assert page.url == f"{live_server}/hunt/scan"  # the API answered: no page load
    # The API's 422 shows up in the console as a failed resource load; nothing else may.
    assert [e for e in errors if "422" not in e] == []
