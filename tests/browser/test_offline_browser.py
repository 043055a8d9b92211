"""Offline in Chromium: star a session, vote for a poster and scan a booth's QR with no connection;
the actions wait in IndexedDB across a reload, are sent when the connection is back, and reach
the server once each, even when the replay is forced three more times. A damaged queue entry is
reported and skipped; an action refused on arrival ("Voting closed at 19:00") says so.

The phone's connection is cut with Playwright's ``context.set_offline`` (the service worker's
fetches go offline too), so pages come from the worker's caches, as at a venue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from companion.agenda.models import Favourite
from companion.extensions import db
from companion.hunt import codes
from companion.hunt.models import Stamp
from companion.idempotency.models import IdempotencyKey
from companion.schedule.models import Session
from companion.voting.models import Ballot
from tests.accounts.factories import make_attendee
from tests.browser.pages import wait_until, watch_errors
from tests.hunt.factories import DAY_ONE, make_station
from tests.mailserver import Mailbox, first_link
from tests.voting.factories import CLOSES, OPENS, make_poster, open_voting

pytestmark = pytest.mark.browser

EMAIL = "ada@example.org"
DURING = OPENS + timedelta(minutes=30)  # 18:30 in Paris on day one, voting open
SESSION_TITLE = "Lightning Talk: Tiny Tensors"
SAVED_PAGES = {"/agenda": "My agenda", "/me/badge": "My badge", "/hunt": "Scavenger hunt Tuesday 7 April 2026", "/posters": "Posters"}
# An entry written into the queue's store as it stands, past the queue's own checks and without
# waking its sender (JavaScript, defines writeRaw(entry)).
WRITE_RAW = """const writeRaw = async (entry) => {
        const db = await new Promise((ok) => { const r = indexedDB.open(CompanionQueue.DB_NAME); r.onsuccess = () => ok(r.result); });
        await new Promise((ok) => { const t = db.transaction(CompanionQueue.STORE, 'readwrite');
          t.objectStore(CompanionQueue.STORE).put(entry); t.oncomplete = ok; });
        db.close();
      };"""
ALL_SENT = ("CompanionQueue.all().then((entries) => entries.length > 0 && "
            "entries.every((e) => e.state !== 'pending'))")


def _queue(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("CompanionQueue.all().then((entries) => entries.map((e) => "
                         "({kind: e.kind, state: e.state, label: e.label, message: e.result && e.result.message})))")


def _server_state(app: Flask, user_id: int) -> tuple[list, list, list, list]:
    with app.app_context():
        favourites = db.session.execute(select(Session.title).join(Favourite, Favourite.session_id == Session.id)
                                        .where(Favourite.user_id == user_id)).scalars().all()
        ballots = db.session.execute(select(Ballot.poster_id, Ballot.changes).where(Ballot.user_id == user_id)).all()
        stamps = db.session.execute(select(Stamp.station_id, Stamp.day).where(Stamp.user_id == user_id)).all()
        keys = db.session.execute(select(IdempotencyKey.status_code).order_by(IdempotencyKey.id)).scalars().all()
    return list(favourites), [tuple(b) for b in ballots], [tuple(s) for s in stamps], list(keys)


def _sign_in(page: Page, live_server: str, mailbox: Mailbox, email: str = EMAIL) -> None:
    page.goto(f"{live_server}/sign-in?next=/schedule?day=2026-04-07")
    wait_until(page, "navigator.serviceWorker.ready.then((r) => r.active.state === 'activated')")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.goto(first_link(mailbox.wait_for(email)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/schedule?day=2026-04-07")


def test_actions_made_offline_survive_a_reload_and_reach_the_server_once(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, schedule: None,
        clock, mailbox: Mailbox) -> None:
    with app.app_context():
        ada = make_attendee(email=EMAIL, name="Ada Lovelace").user.id
        poster = make_poster("P1", "Poster P1")
        poster_code, poster_id = poster.code, poster.id
        other = make_poster("P2", "Poster P2").code
        open_voting()
        acme = make_station("Acme AI", days=[DAY_ONE])
        acme_id = acme.id
    clock.set(DURING)
    with app.app_context():
        from companion.extensions import db as _db
        from companion.hunt.models import Station

        station = _db.session.get(Station, acme_id)
        booth_url = f"/h/{codes.rotating_code(station.code, station.secret, codes.window_of(DURING))}"
    context = browser.new_context(**{**browser_context_args, "base_url": live_server})
    page = context.new_page()
    errors = watch_errors(page)
    _sign_in(page, live_server, mailbox)

    # Online once: the pages an attendee opened are saved on the phone.
    for path in SAVED_PAGES:
        page.goto(path)
    page.goto(f"/posters/{other}")
    page.goto(f"/posters/{poster_code}")
    page.goto("/schedule?day=2026-04-07")
    wait_until(page, "caches.open('companion-runtime-1').then((c) => c.keys()).then((k) => "
                     "k.some((r) => r.url.includes('/posters/')) && k.some((r) => r.url.includes('/schedule')))")

    context.set_offline(True)
    for path, heading in SAVED_PAGES.items():  # what the attendee opened is there without a connection
        page.goto(path)
        expect(page.locator("h1")).to_have_text(heading)
    page.goto("/schedule?day=2026-04-07")
    star = page.locator("section.slot").get_by_role("button", name=f"Star {SESSION_TITLE}")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(page.locator("form:has(button[aria-pressed]) [data-star-status]").filter(has_text="not saved yet")).to_have_count(1)

    page.goto(f"/posters/{poster_code}")  # from the worker's cache
    page.get_by_role("button", name="Vote for this poster").click()
    expect(page.locator("[data-vote-status]")).to_have_text(
        "No connection: your vote is kept on this phone and sent when you are back online.")

    page.goto(booth_url)  # what the phone's camera app opens: the worker queues it and shows the list
    page.wait_for_url(f"{live_server}/queue")
    page.reload()  # still offline: the list is precached and the queue is in IndexedDB
    items = page.locator("[data-queue-item]")
    expect(items).to_have_count(3)
    expect(items.locator("[data-queue-state]")).to_contain_text(["Waiting to be sent"] * 3)
    expect(page.locator("[data-queue-indicator]")).to_have_text("3 actions waiting to be sent")
    assert [(e["kind"], e["state"]) for e in _queue(page)] == [("star", "pending"), ("vote", "pending"),
                                                                 ("stamp", "pending")]
    assert _server_state(app, ada) == ([], [], [], [])
    # Background Sync is asked to wake the worker when the connection is back.
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())") == ["companion-queue"]

    # Back online: sent (by Background Sync or the page's "online" handler, whichever comes first).
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, ALL_SENT, timeout=20)
    expect(items.locator("[data-queue-state]")).to_contain_text(["Sent"] * 3)
    messages = sorted(e["message"] for e in _queue(page))
    assert messages == ["Stamped at Acme AI.", "Starred.", "Your vote for Best poster: P1, Poster P1."]
    first = _server_state(app, ada)
    assert first == ([SESSION_TITLE], [(poster_id, 0)], [(acme_id, DAY_ONE)], [200, 200, 201])

    # The replay forced three times at once, as if no answer had come back: the same answers, no second effect.
    page.evaluate(f"""async () => {{
      {WRITE_RAW}
      for (const entry of await CompanionQueue.all()) await writeRaw({{...entry, state: 'pending', result: null}});
      await Promise.all([CompanionQueue.replay(), CompanionQueue.replay(), CompanionQueue.replay()]);
    }}""")
    wait_until(page, ALL_SENT)
    assert sorted(e["message"] for e in _queue(page)) == messages
    assert _server_state(app, ada) == first

    # A damaged entry is reported and skipped, not retried forever.
    page.evaluate(f"""async () => {{
      {WRITE_RAW}
      await writeRaw({{key: 'damaged', state: 'pending', url: 'https://elsewhere.example/', createdAt: '2026-04-07T16:31:00Z'}});
      await CompanionQueue.replay();
      await CompanionQueue.replay();
    }}""")
    damaged = page.locator("[data-queue-item='damaged']")
    expect(damaged.locator("[data-queue-state]")).to_contain_text("Damaged: skipped")
    expect(damaged.locator("[data-queue-message]")).to_have_text(
        "This saved action was damaged and could not be sent. Do it again.")
    assert _server_state(app, ada) == first

    # A vote made offline that arrives after the close: refused, and the list says why.
    context.set_offline(True)
    page.goto(f"/posters/{other}")  # saved before, when it said "Vote for this poster"
    page.get_by_role("button", name="Vote for this poster").click()
    expect(page.locator("[data-vote-status]")).to_have_text(
        "No connection: your vote is kept on this phone and sent when you are back online.")
    clock.set(CLOSES + timedelta(minutes=5))
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-vote-status]")).to_have_text(
        "Voting closed at 19:00. Your earlier vote, if any, stands.")
    page.goto("/queue")
    refused = page.locator("[data-queue-item][data-state='refused']")
    expect(refused.locator("[data-queue-message]")).to_have_text(
        "Voting closed at 19:00. Your earlier vote, if any, stands.")
    assert _server_state(app, ada)[1] == [(poster_id, 0)]
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e and "422" not in e] == []
    context.close()


def test_the_schedule_api_is_stale_while_revalidate(page: Page, live_server: str, app: Flask, schedule: None) -> None:
    """The saved copy answers at once and is refreshed behind it; offline the saved copy answers."""
    from companion.schedule.models import Conference

    page.goto(f"{live_server}/schedule")
    wait_until(page, "navigator.serviceWorker.ready.then((r) => r.active.state === 'activated')")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    fetch_titles = ("fetch('/api/v1/schedule').then((r) => r.json())"
                    ".then((d) => d.sessions.map((s) => s.title).sort())")
    before = page.evaluate(fetch_titles)
    wait_until(page, "caches.open('companion-runtime-1').then((c) => c.match('/api/v1/schedule')).then(Boolean)")
    with app.app_context():
        session = db.session.scalars(select(Session).order_by(Session.id)).first()
        old_title = session.title
        session.title = "Renamed at the last minute"
        db.session.scalars(select(Conference)).one().schedule_version += 1
        db.session.commit()
    expected = sorted([t for t in before if t != old_title] + ["Renamed at the last minute"])

    stale = page.evaluate(fetch_titles)  # the saved copy, while the worker asks the server
    wait_until(page, "caches.open('companion-runtime-1').then((c) => c.match('/api/v1/schedule'))"
                     ".then((r) => r.json()).then((d) => d.sessions.some((s) => s.title === 'Renamed at the last minute'))")
    fresh = page.evaluate(fetch_titles)
    page.context.set_offline(True)
    offline = page.evaluate(fetch_titles)
    page.context.set_offline(False)

    assert (stale, fresh, offline) == (before, expected, expected)
    assert old_title in before


def test_an_action_still_waiting_at_sign_out_is_refused_not_done_for_the_next_person(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, schedule: None,
        mailbox: Mailbox) -> None:
    with app.app_context():
        ada = make_attendee(email=EMAIL, name="Ada Lovelace").user.id
        grace = make_attendee(email="grace@example.org", name="Grace Hopper").user.id
    context = browser.new_context(**{**browser_context_args, "base_url": live_server})
    page = context.new_page()
    _sign_in(page, live_server, mailbox)
    # The venue's uplink drops every API call, the page's and the service worker's: the star waits.
    context.route("**/api/v1/agenda/*", lambda route: route.abort("internetdisconnected"))
    star = page.locator("section.slot").get_by_role("button", name=f"Star {SESSION_TITLE}")
    star.click()
    expect(page.locator("form:has(button[aria-pressed=true]) [data-star-status]")).to_have_text("not saved yet")
    page.goto("/me")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(lambda url: not url.endswith("/me"))
    page.wait_for_load_state()
    _sign_in(page, live_server, mailbox, "grace@example.org")
    context.unroute("**/api/v1/agenda/*")
    page.goto("/queue")
    page.evaluate("CompanionQueue.replay()")
    wait_until(page, ALL_SENT)

    signed_out = ("Not sent: this phone was signed out (or signed in as someone else) before it could be. "
                  "Sign in and do it again.")
    assert [(e["kind"], e["state"], e["message"]) for e in _queue(page)] == [("star", "refused", signed_out)]
    # Marked by the phone at sign-out (no server status), not merely refused when it was sent.
    assert page.evaluate("CompanionQueue.all().then((all) => all.map((e) => e.result.status))") == [None]
    expect(page.locator("[data-queue-item][data-state='refused'] [data-queue-message]")).to_have_text(signed_out)
    assert _server_state(app, grace) == ([], [], [], [])
    assert _server_state(app, ada) == ([], [], [], [])
    context.close()
