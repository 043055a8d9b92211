"""Poster voting in Chromium: an attendee opens a poster's page (what its board's QR opens) on a
phone, votes, sees "your vote" and moves it; the staff tally follows a new vote without a reload;
the results screen reveals third, second and first with the space bar.

The live server runs on the session's fake clock, set inside the voting window. Posters, the
window and the votes cast "elsewhere" are made through the services in the test's own app context
and committed, so the live server's threads see them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from companion.voting.models import Ballot
from tests.accounts.factories import make_attendee, make_user
from tests.browser.pages import assert_fits_the_phone, wait_until, watch_errors
from tests.mailserver import Mailbox, first_link
from tests.voting.factories import OPENS, make_poster, open_voting

pytestmark = pytest.mark.browser

DURING = OPENS + timedelta(minutes=30)  # 18:30 in Paris, inside the window
PARIS = ZoneInfo("Europe/Paris")
ADA_EMAIL = "ada@example.org"
STAFF_EMAIL = "sam.staff@example.org"
STAFF_PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 800}
PROJECTOR = {"width": 1920, "height": 1080}


def _posters(*boards: str) -> dict[str, str]:
    """A poster per board in Best poster ("Poster P1" and so on); board -> code."""
    return {board: make_poster(board, f"Poster {board}").code for board in boards}


def _worker_settled(page: Page) -> None:
    """Wait until the service worker is activated: its activation re-fetches the open page, and that
    answer's session cookie, arriving after a sign-in, would sign the browser out again."""
    wait_until(page, "navigator.serviceWorker.ready.then((r) => r.active.state === 'activated')")


def _sign_in_by_mail(page: Page, live_server: str, mailbox: Mailbox, email: str, next_path: str) -> None:
    page.goto(f"{live_server}/sign-in?next={next_path}")
    _worker_settled(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.goto(first_link(mailbox.wait_for(email)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}{next_path}")


def _staff_context(browser: Browser, live_server: str, **options: object) -> tuple[BrowserContext, Page]:
    """A new context signed in as staff through the staff sign-in form."""
    context = browser.new_context(base_url=live_server, **options)
    page = context.new_page()
    page.goto(f"{live_server}/staff/sign-in")
    _worker_settled(page)
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")
    return context, page


def _vote_elsewhere(app: Flask, voter_email: str, board: str) -> None:
    """An attendee votes for the poster on ``board`` through the service (committed)."""
    from companion.extensions import db
    from companion.voting import services
    from companion.voting.models import Poster

    with app.app_context():
        user = make_attendee(email=voter_email, name="Grace Hopper").user
        poster = db.session.scalar(select(Poster).where(Poster.board == board))
        services.cast_vote(user, poster.code, "best-poster", now=DURING, zone=PARIS)
        db.session.commit()


def test_attendee_votes_from_the_poster_page_and_moves_the_vote(page: Page, live_server: str, app: Flask,
                                                                 schedule: None, clock, mailbox: Mailbox,
                                                                 artifacts_dir: Path) -> None:
    with app.app_context():
        ada = make_attendee(email=ADA_EMAIL, name="Ada Lovelace").user.id
        codes = _posters("P1", "P2")
        open_voting()
    clock.set(DURING)
    errors = watch_errors(page)
    _sign_in_by_mail(page, live_server, mailbox, ADA_EMAIL, f"/posters/{codes['P1']}")

    # What the board's QR opens: the poster's own page.
    page.goto(f"{live_server}/posters/{codes['P1']}")
    expect(page.locator("h1")).to_have_text("P1 Poster P1")
    assert_fits_the_phone(page)
    page.get_by_role("button", name="Vote for this poster").click()  # through the API: no page load
    expect(page.locator("[data-vote-status]")).to_have_text("Your vote for Best poster: P1, Poster P1.")
    expect(page.locator("[data-my-vote]")).to_have_text("Your vote for Best poster is this poster.")
    expect(page.locator("button[data-vote]")).to_have_count(0)
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "poster-voted-390.png", full_page=True)

    # Another board: the page says where the vote is, and moves it here.
    page.goto(f"{live_server}/posters/{codes['P2']}")
    expect(page.locator("[data-my-vote-elsewhere]")).to_have_text("Your vote for Best poster is P1, Poster P1.")
    assert_fits_the_phone(page)
    page.get_by_role("button", name="Move my vote here").click()
    expect(page.locator("[data-vote-status]")).to_have_text("Your vote for Best poster: P2, Poster P2.")
    expect(page.locator("[data-my-vote-elsewhere]")).to_have_count(0)
    expect(page.locator("[data-my-vote]")).to_have_text("Your vote for Best poster is this poster.")
    assert_fits_the_phone(page)

    with app.app_context():
        from companion.extensions import db
        from companion.voting.models import Poster

        ballots = db.session.execute(select(Ballot.user_id, Poster.board, Ballot.counted, Ballot.changes)
                                     .join(Poster, Poster.id == Ballot.poster_id)).all()
    assert [tuple(b) for b in ballots] == [(ada, "P2", True, 1)]
    assert errors == []


def test_staff_tally_follows_a_new_vote_without_a_reload(browser: Browser, live_server: str, app: Flask,
                                                         schedule: None, clock) -> None:
    with app.app_context():
        make_user(email=STAFF_EMAIL, name="Sam Staff", role="staff", password=STAFF_PASSWORD)
        _posters("P1", "P2")
        open_voting()
    clock.set(DURING)

    context, page = _staff_context(browser, live_server, viewport=DESKTOP)
    try:
        errors = watch_errors(page)
        page.goto("/staff/voting")
        total = page.locator("[data-category='best-poster'] [data-total]")
        expect(total).to_have_text("0 votes")
        loaded = page.evaluate("performance.timeOrigin")

        _vote_elsewhere(app, "grace@example.org", "P2")
        wait_until(page, "document.querySelector(\"[data-category='best-poster'] [data-total]\")"
                         ".textContent.trim() === '1 vote'", timeout=8)
        expect(total).to_have_text("1 vote")
        row = page.locator("table[data-table='tally-best-poster'] tbody tr").first
        expect(row.locator("td")).to_have_text(["1", "P2", "Poster P2", "1", "100.0 %"])
        expect(page.locator("[data-category='best-poster'] .stats-chart img")).to_be_visible()
        assert page.evaluate("performance.timeOrigin") == loaded  # the same document: no reload
        assert errors == []
    finally:
        context.close()


def test_results_screen_reveals_third_second_then_first_with_space(browser: Browser, live_server: str, app: Flask,
                                                                   schedule: None, clock,
                                                                   artifacts_dir: Path) -> None:
    with app.app_context():
        make_user(email=STAFF_EMAIL, name="Sam Staff", role="staff", password=STAFF_PASSWORD)
        _posters("P1", "P2", "P3", "P4")
        open_voting()
    # P2 first (3 votes), P3 second (2), P1 third (1), P4 none.
    n = 0
    for board, votes in (("P1", 1), ("P2", 3), ("P3", 2)):
        for _ in range(votes):
            n += 1
            _vote_elsewhere(app, f"voter{n}@example.org", board)
    clock.set(DURING)

    context, screen = _staff_context(browser, live_server, viewport=PROJECTOR)
    try:
        errors = watch_errors(screen)
        screen.goto("/staff/voting/screen/best-poster")
        expect(screen.locator("h1")).to_have_text("Best poster")
        places = screen.locator("li.voting-place")
        expect(places).to_have_count(3)
        expect(screen.locator("li.voting-place:visible")).to_have_count(0)
        expect(screen.locator("[data-next]")).to_have_text("Reveal third place")
        loaded = screen.evaluate("performance.timeOrigin")

        def visible() -> list[tuple[str | None, str]]:
            shown = screen.locator("li.voting-place:visible")
            return [(shown.nth(i).get_attribute("data-place"),
                     shown.nth(i).locator(".voting-place-board").text_content() or "") for i in range(shown.count())]

        screen.keyboard.press("Space")
        expect(screen.locator("li.voting-place:visible")).to_have_count(1)
        assert visible() == [("3", "P1")]
        expect(screen.locator("[data-place='3'] .voting-place-rank")).to_have_text("Third")
        expect(screen.locator("[data-place='3'] .voting-place-votes")).to_have_text("1 vote")
        expect(screen.locator("[data-next]")).to_be_visible()

        screen.keyboard.press("Space")
        expect(screen.locator("li.voting-place:visible")).to_have_count(2)
        assert visible() == [("3", "P1"), ("2", "P3")]
        expect(screen.locator("[data-place='2'] .voting-place-rank")).to_have_text("Second")
        expect(screen.locator("[data-place='2'] .voting-place-votes")).to_have_text("2 votes")
        expect(screen.locator("[data-next]")).to_be_visible()

        screen.keyboard.press("Space")
        expect(screen.locator("li.voting-place:visible")).to_have_count(3)
        assert visible() == [("3", "P1"), ("2", "P3"), ("1", "P2")]
        expect(screen.locator("[data-place='1'] .voting-place-rank")).to_have_text("First")
        expect(screen.locator("[data-place='1'] .voting-place-votes")).to_have_text("3 votes")
        expect(screen.locator("[data-next]")).to_have_count(0)
        expect(screen.get_by_text("Reveal", exact=False)).to_have_count(0)
        assert screen.evaluate("performance.timeOrigin") == loaded
        # Nothing more to reveal: a fourth press changes nothing.
        screen.keyboard.press("Space")
        expect(screen.locator("li.voting-place:visible")).to_have_count(3)
        screen.screenshot(path=artifacts_dir / "voting-screen-1920.png")
        assert errors == []
    finally:
        context.close()
