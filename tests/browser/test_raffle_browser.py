"""The raffle in Chromium: the projector screen turns a draw into a shuffle and then the winners
without a reload (no shuffle for a viewer who prefers reduced motion), the desk freezes and draws
on a phone, and the attendee's hunt card shows the entry code and the win.

The live server runs on the session's fake clock; the tests set it to the cut-off and the draw.
Raffle data is made through the services in the test's own app context and committed, so the
live server's threads see it.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from companion.raffle.models import Raffle, RaffleEntry, RaffleWinner
from tests.accounts.factories import make_user
from tests.browser.pages import assert_fits_the_phone, wait_until, watch_errors
from tests.mailserver import Mailbox, first_link
from tests.raffle.factories import DRAW_AT, FREEZE_AT, PARIS, hunt_station, make_completers, make_raffle

pytestmark = pytest.mark.browser

STAFF_EMAIL = "sam.staff@example.org"
STAFF_PASSWORD = "correct horse battery"
PROJECTOR = {"width": 1920, "height": 1080}
CLAIM_BY = "16:15"  # the draw at 15:45 in Paris, plus the default 30 minutes
WINNER_TEXTS = "[...document.querySelectorAll('[data-winners] li[data-entry]')].length"


def _people(*first_names: str) -> list[int]:
    """One hunt completer per first name ("Ada Number0" and so on, distinct on the screen); their ids."""
    station = hunt_station()
    return [make_completers(1, station=station, prefix=name)[0].id for name in first_names]


def _staff() -> None:
    make_user(email=STAFF_EMAIL, name="Sam Staff", role="staff", password=STAFF_PASSWORD)


def _freeze(app: Flask, code: str) -> str:
    """Freeze the raffle through the service (committed); its commitment."""
    from companion.extensions import db
    from companion.raffle import queries, services

    with app.app_context():
        raffle = queries.by_code(code)
        services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(11))
        db.session.commit()
        return raffle.commitment


def _draw(app: Flask, code: str) -> None:
    """Draw the raffle through the service (committed), as the desk's button would."""
    from companion.extensions import db
    from companion.raffle import queries, services

    with app.app_context():
        services.draw(queries.by_code(code), actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")
        db.session.commit()


def _winners(app: Flask, code: str) -> list[tuple[str, str]]:
    """(entry code, name) of the raffle's winners in draw order, from the database."""
    from companion.accounts.models import User
    from companion.extensions import db

    with app.app_context():
        return [(entry, name) for entry, name in db.session.execute(
            select(RaffleEntry.entry_code, User.name).join(RaffleWinner, RaffleWinner.entry_id == RaffleEntry.id)
            .join(Raffle, Raffle.id == RaffleWinner.raffle_id).join(User, User.id == RaffleEntry.user_id)
            .where(Raffle.code == code).order_by(RaffleWinner.k))]


def _short(name: str) -> str:
    """What the screen shows for a name: "Ada N." for "Ada Number0"."""
    first, *_, last = name.split()
    return f"{first} {last[0]}."


def _staff_context(browser: Browser, live_server: str, **options: object) -> tuple[BrowserContext, Page]:
    """A new context signed in as the staff member through the staff sign-in form."""
    context = browser.new_context(base_url=live_server, **options)
    page = context.new_page()
    _sign_in_staff(page, live_server)
    return context, page


def _worker_settled(page: Page) -> None:
    """Wait until the service worker is activated: its activation re-fetches the open page (saveOpenPages),
    and that answer's session cookie, arriving after a sign-in, would sign the browser out again."""
    wait_until(page, "navigator.serviceWorker.ready.then((r) => r.active.state === 'activated')")


def _sign_in_staff(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/staff/sign-in")
    _worker_settled(page)
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/staff/")


def _expect_winners(page: Page, winners: list[tuple[str, str]]) -> None:
    items = page.locator("[data-winners] li[data-entry]")
    expect(items).to_have_count(len(winners))
    expect(page.locator("[data-winners] .raffle-screen-code")).to_have_text([code for code, _ in winners])
    expect(page.locator("[data-winners] .raffle-screen-name")).to_have_text([_short(name) for _, name in winners])
    expect(page.locator("[data-winners] .raffle-screen-claim")).to_have_text([f"until {CLAIM_BY}"] * len(winners))
    assert [items.nth(i).get_attribute("data-entry") for i in range(len(winners))] == [c for c, _ in winners]


def test_projector_shuffles_then_shows_the_winners_drawn_at_the_desk(browser: Browser, live_server: str, app: Flask,
                                                                     schedule: None, clock,
                                                                     artifacts_dir: Path) -> None:
    with app.app_context():
        _staff()
        _people("ada", "grace", "alan")
        code = make_raffle("Day one raffle", prize="A mechanical keyboard", winners_wanted=2).code
    commitment = _freeze(app, code)
    clock.set(FREEZE_AT)

    context, screen = _staff_context(browser, live_server, viewport=PROJECTOR)
    try:
        errors = watch_errors(screen)
        screen.goto(f"/staff/raffles/{code}/screen")
        expect(screen.locator("[data-prize]")).to_have_text("A mechanical keyboard")
        expect(screen.locator(".raffle-screen-title")).to_have_text("Day one raffle")
        expect(screen.locator("[data-status]")).to_have_text("3 entries. The draw is about to start.")
        expect(screen.locator("[data-commitment]")).to_be_visible()
        expect(screen.locator("[data-commitment] code")).to_have_text(commitment)
        expect(screen.locator("[data-raffle-screen]")).to_have_attribute("data-state", "frozen")
        assert screen.locator("[data-winners] li").count() == 0
        screen.screenshot(path=artifacts_dir / "raffle-screen-frozen-1920.png")
        loaded = screen.evaluate("performance.timeOrigin")  # the same document to the end: no reload

        # A second tab is the desk: "Draw" there, and the projector follows by itself.
        clock.set(DRAW_AT)
        desk = context.new_page()
        desk_errors = watch_errors(desk)
        desk.goto(f"/staff/raffles/{code}")
        desk.get_by_role("button", name="Draw", exact=True).click()
        expect(desk.locator("[data-flash]")).to_contain_text("Drawn: ")
        winners = _winners(app, code)
        assert len(winners) == 2

        # The shuffle comes first, with no winner shown yet ...
        wait_until(screen, "document.querySelector('[data-winners] li.raffle-screen-shuffle') !== null", timeout=8)
        assert screen.evaluate(WINNER_TEXTS) == 0
        shuffled = screen.locator("li.raffle-screen-shuffle")
        expect(shuffled).to_have_attribute("aria-hidden", "true")
        expect(shuffled).to_have_text(re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{2}$"))
        screen.screenshot(path=artifacts_dir / "raffle-screen-shuffle-1920.png")
        # ... then each winner in draw order, each after a shuffle of its own; no reload on the way.
        wait_until(screen, f"{WINNER_TEXTS} === 1", timeout=6)
        assert screen.locator("[data-winners] .raffle-screen-code").first.text_content() == winners[0][0]
        wait_until(screen, f"{WINNER_TEXTS} >= 2", timeout=6)
        # Two more polls later, each winner is still shown once and nothing shuffles any more.
        screen.wait_for_timeout(4500)
        shown = screen.evaluate("[...document.querySelectorAll('[data-winners] li')]"
                                ".map((li) => li.dataset.entry || li.className)")
        assert shown == [entry for entry, _ in winners]
        _expect_winners(screen, winners)
        expect(screen.locator("[data-winners] li.is-revealed")).to_have_count(2)
        expect(screen.locator("[data-status]")).to_have_text("The winners: claim at the raffle desk in the expo hall")
        expect(screen.locator("[data-raffle-screen]")).to_have_attribute("data-state", "drawn")
        expect(screen.locator("[data-offline]")).to_be_hidden()
        assert screen.evaluate("performance.timeOrigin") == loaded
        screen.screenshot(path=artifacts_dir / "raffle-screen-drawn-1920.png")
        assert errors == [] and desk_errors == []
    finally:
        context.close()


def test_projector_skips_the_shuffle_for_reduced_motion(browser: Browser, live_server: str, app: Flask,
                                                        schedule: None, clock) -> None:
    with app.app_context():
        _staff()
        _people("ada", "grace")
        code = make_raffle(prize="A PyTorch hoodie").code
    commitment = _freeze(app, code)
    clock.set(DRAW_AT)

    context, screen = _staff_context(browser, live_server, viewport=PROJECTOR, reduced_motion="reduce")
    try:
        errors = watch_errors(screen)
        screen.goto(f"/staff/raffles/{code}/screen")
        assert screen.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches") is True
        expect(screen.locator("[data-prize]")).to_have_text("A PyTorch hoodie")
        expect(screen.locator("[data-status]")).to_have_text("2 entries. The draw is about to start.")
        expect(screen.locator("[data-commitment] code")).to_have_text(commitment)

        _draw(app, code)
        [(entry, name)] = _winners(app, code)
        # Look often (the shuffle would last 2.4 s): it never shows, the winner appears directly.
        shuffles = []
        deadline = time.monotonic() + 10
        while not screen.evaluate(WINNER_TEXTS):
            shuffles.append(screen.locator(".raffle-screen-shuffle").count())
            assert time.monotonic() < deadline, "the winner never showed"
            screen.wait_for_timeout(20)
        shuffles.append(screen.locator(".raffle-screen-shuffle").count())
        assert len(shuffles) > 5 and set(shuffles) == {0}
        _expect_winners(screen, [(entry, name)])
        expect(screen.locator("[data-status]")).to_have_text("The winner: claim at the raffle desk in the expo hall")
        # Two more polls later, still one winner, still no shuffle.
        screen.wait_for_timeout(4500)
        assert screen.locator(".raffle-screen-shuffle").count() == 0
        _expect_winners(screen, [(entry, name)])
        assert errors == []
    finally:
        context.close()


def test_desk_freezes_and_draws_on_a_phone(page: Page, live_server: str, app: Flask, schedule: None, clock,
                                           artifacts_dir: Path) -> None:
    with app.app_context():
        _staff()
        _people("ada", "grace", "alan")
        code = make_raffle("Day one raffle", prize="A mechanical keyboard", winners_wanted=2).code
    errors = watch_errors(page)
    _sign_in_staff(page, live_server)

    page.goto(f"{live_server}/staff/raffles/{code}")
    expect(page.locator("h1")).to_contain_text("Day one raffle")
    expect(page.locator("[data-eligible]")).to_have_text("3")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "raffle-desk-open-390.png", full_page=True)

    clock.set(FREEZE_AT)
    page.get_by_role("button", name="Freeze the entries").click()
    expect(page.locator("[data-flash]")).to_have_text(
        "Frozen: 3 entries. The list and the commitment are public now.")
    expect(page.locator("[data-entries]")).to_have_text("3")
    with app.app_context():
        from companion.extensions import db

        commitment = db.session.scalar(select(Raffle.commitment).where(Raffle.code == code))
    expect(page.locator(".desk-step code.hash")).to_have_text(commitment)
    assert_fits_the_phone(page)

    clock.set(DRAW_AT)
    page.get_by_role("button", name="Draw", exact=True).click()
    expect(page.locator("[data-flash]")).to_contain_text("Drawn: ")
    winners = _winners(app, code)
    assert len(winners) == 2
    expect(page.locator("[data-flash]")).to_have_text(f"Drawn: {', '.join(c for c, _ in winners)}.")
    expect(page.locator("[data-state]").first).to_have_text("Drawn")
    rows = page.locator("table[data-table=winners] tbody tr")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-winner") for i in range(2)] == [c for c, _ in winners]
    with app.app_context():
        from companion.extensions import db

        ks = db.session.scalars(select(RaffleWinner.k).order_by(RaffleWinner.k)).all()
    for i, (entry, name) in enumerate(winners):
        expect(rows.nth(i).locator("td")).to_have_text(
            [str(ks[i]), entry, name, CLAIM_BY, "Waiting", f'Claimed "Not claimed" after {CLAIM_BY}'])
    expect(page.get_by_role("button", name="Claimed")).to_have_count(2)
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "raffle-desk-drawn-390.png", full_page=True)
    assert errors == []


def test_hunt_card_shows_the_entry_and_the_win(page: Page, live_server: str, app: Flask, schedule: None, clock,
                                               mailbox: Mailbox, artifacts_dir: Path) -> None:
    with app.app_context():
        [ada] = _people("ada")
        code = make_raffle("Day one raffle", prize="A mechanical keyboard").code
    _freeze(app, code)
    with app.app_context():
        from companion.extensions import db

        entry = db.session.scalar(select(RaffleEntry.entry_code).where(RaffleEntry.user_id == ada))
    errors = watch_errors(page)

    page.goto(f"{live_server}/sign-in?next=/hunt")
    _worker_settled(page)
    page.get_by_label("Email address").fill("ada0@example.org")
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.goto(first_link(mailbox.wait_for("ada0@example.org")))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/hunt")

    raffle = page.locator(f"[data-raffle='{code}']")
    expect(raffle.locator("[data-entry-code]")).to_have_text(f"Your entry: {entry}")
    expect(raffle.locator("[data-raffle-state]")).to_have_text("Good luck: the draw is at 15:45.")
    assert_fits_the_phone(page)

    clock.set(DRAW_AT)
    _draw(app, code)
    assert _winners(app, code) == [(entry, "Ada Number0")]
    page.reload()
    expect(raffle.locator("[data-entry-code]")).to_have_text(f"Your entry: {entry}")
    expect(raffle.locator("[data-raffle-state=won]")).to_have_text(
        f"You won! Claim your prize at the raffle desk in the expo hall by {CLAIM_BY}; show this entry code.")
    expect(raffle).to_have_class("hunt-raffle-entry hunt-raffle-won")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "raffle-card-won-390.png", full_page=True)
    assert errors == []
