"""Notifications on a phone-sized Chromium, through the real chain as far as a headless browser goes.

Headless Chromium cannot make a real push subscription (it has no push service to talk to), so
the device is made in the push service emulator (web-push-testing) with the app's VAPID key, and
an init script makes ``PushManager.prototype.subscribe``/``getSubscription`` hand the page that
device. Everything else is real: the permission, the button, the API call that stores the device,
the worker that plans the reminder, encrypts it and sends it to the emulator, the service worker
that gets the decrypted payload (DevTools ``ServiceWorker.deliverPushMessage``) and shows it, and
its notificationclick and pushsubscriptionchange listeners (on script-made events: see
TAP_NOTIFICATION for what Chromium allows them). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Worker, expect
from sqlalchemy import select

from companion.accounts.models import User
from companion.agenda import services as agenda
from companion.extensions import db
from companion.push import services
from companion.push.models import PushSubscription
from companion.push.vapid import KEY_FILE, load_keys, write_key_file
from companion.push.worker import WorkerOptions, WorkerTotals, run
from companion.schedule.models import Session
from tests.accounts.factories import make_attendee
from tests.browser.pages import SAFARI_IN_A_TAB, assert_fits_the_phone, watch_errors, wait_until
from tests.factories import DAY_ONE
from tests.mailserver import Mailbox, first_link
from tests.pushemulator import PushEmulator

pytestmark = pytest.mark.browser

EMAIL = "marie.curie@example.org"
PAGE = "/me/notifications"

# PushManager as a browser with a push service would have it, handing out ``device`` (made in the
# emulator). It remembers the subscription for the tab (sessionStorage), like a real one would
# across reloads, and records what the page asked subscribe() for.
STUB_PUSH_MANAGER = """
(device) => {
  const bytes = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const base64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const KEY = "stub-push-subscription";
  const make = (key) => ({
    endpoint: device.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(key).buffer },
    getKey: (name) => bytes(device.keys[name]).buffer,
    toJSON: () => ({ endpoint: device.endpoint, expirationTime: null, keys: { ...device.keys } }),
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; },
  });
  window.stubPush = { subscribeCalls: [] };
  PushManager.prototype.subscribe = async function (options) {
    const key = base64url(options.applicationServerKey);
    window.stubPush.subscribeCalls.push({ userVisibleOnly: options.userVisibleOnly, applicationServerKey: key });
    sessionStorage.setItem(KEY, key);
    return make(key);
  };
  PushManager.prototype.getSubscription = async function () {
    const key = sessionStorage.getItem(KEY);
    return key ? make(key) : null;
  };
}
"""

NOTIFICATIONS = """async () => (await (await navigator.serviceWorker.ready).getNotifications())
  .map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url, icon: n.icon, badge: n.badge }))"""


# A tap on the notification with ``tag``, as far as a test can make one: the worker's real
# notificationclick listener runs on a script-made NotificationEvent. Chromium (checked on 156)
# refuses such an event's waitUntil (InvalidStateError: "Can not call waitUntil on a script
# constructed ExtendableEvent"), so the event keeps the listener's promise here instead, and the
# test waits for it: it answers the URL of the window the tap ended in. Without a real tap the
# worker may navigate a window it controls (WindowClient.navigate needs no user activation) but
# not focus one ("InvalidAccessError: Not allowed to focus a window") nor open one ("Not allowed to
# open a window"): sw.js tolerates a refused focus, and the openWindow branch cannot run here.
TAP_NOTIFICATION = """async (tag) => {
  const [notification] = await self.registration.getNotifications({ tag });
  const event = new NotificationEvent("notificationclick", { notification });
  let handled = null;
  Object.defineProperty(event, "waitUntil", { value: (promise) => { handled = promise; } });
  self.dispatchEvent(event);
  const client = await handled;
  return client ? client.url : null;
}"""


@pytest.fixture
def vapid_key(app: Flask) -> str:
    """The app's VAPID public key, written once into the test app's instance folder (as
    tests/push/conftest.py's ``vapid`` does; fixtures there are not visible here)."""
    if not (Path(app.instance_path) / KEY_FILE).exists():
        write_key_file(Path(app.instance_path))
    keys = load_keys(app)
    assert keys is not None
    return keys.public_key


@pytest.fixture
def phone_device(push_emulator: PushEmulator, vapid_key: str) -> dict[str, Any]:
    """A device subscribed in the emulator with the app's key: endpoint, keys, clientHash."""
    return push_emulator.subscribe(vapid_key)


def _new_phone(browser: Browser, browser_context_args: dict[str, Any], live_server: str,
               phone_device: dict[str, Any], *, allow_notifications: bool) -> BrowserContext:
    """A phone whose PushManager hands out ``phone_device``; notifications allowed or not asked yet."""
    context = browser.new_context(**{**browser_context_args, "base_url": live_server})
    if allow_notifications:
        context.grant_permissions(["notifications"], origin=live_server)
    context.add_init_script(script=f"({STUB_PUSH_MANAGER})({json.dumps(phone_device)})")
    return context


def _sign_in(page: Page, live_server: str, mailbox: Mailbox) -> None:
    """Open the Notifications page signed out, and sign in with the link of the mail the app sends."""
    page.goto(PAGE)
    page.wait_for_url(f"{live_server}/sign-in?next=/me/notifications")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    page.goto(first_link(mailbox.wait_for(EMAIL)))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}{PAGE}")


def _wait_until_controlled(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if page.evaluate("navigator.serviceWorker.controller === null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")


def _subscriptions(app: Flask) -> list[tuple[str, str, str, str]]:
    """Every stored device: endpoint, keys, and its owner's email address."""
    with app.app_context():
        rows = db.session.execute(select(PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth,
                                         User.email).join(User, User.id == PushSubscription.user_id)
                                  .order_by(PushSubscription.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


def _registration_id(context: BrowserContext, page: Page, live_server: str) -> tuple[Any, str]:
    """A DevTools session on ``page`` with the ServiceWorker domain on, and the app's registration id."""
    cdp = context.new_cdp_session(page)
    registrations: dict[str, str] = {}
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.update(
        {r["scopeURL"]: r["registrationId"] for r in event["registrations"] if not r["isDeleted"]}))
    cdp.send("ServiceWorker.enable")
    scope = f"{live_server}/"
    page.wait_for_timeout(0)  # let the events of enable() arrive
    for _ in range(50):
        if scope in registrations:
            break
        page.wait_for_timeout(100)
    assert scope in registrations, registrations
    return cdp, registrations[scope]


def _wait_for_notifications(page: Page, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The notifications shown, once there are ``count`` of them (wait_for_function does not await
    a promise: an async predicate's Promise counts as true at once, so this polls from here)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = page.evaluate(NOTIFICATIONS)
        if len(shown) == count or time.monotonic() > deadline:
            assert len(shown) == count, shown
            return shown
        page.wait_for_timeout(100)


def _send_due_reminders(app: Flask) -> WorkerTotals:
    """One pass of the real push worker (in a thread: Playwright's loop runs in this one)."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["totals"] = run(app, WorkerOptions(once=True))
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="push-worker")
    thread.start()
    thread.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["totals"]


def _service_worker(context: BrowserContext) -> Worker:
    workers = [w for w in context.service_workers if w.url.split("?")[0].endswith("/sw.js")]
    return workers[0] if workers else context.wait_for_event("serviceworker")


def test_turn_on_receive_a_reminder_and_open_its_session(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, mailbox: Mailbox,
        schedule: None, clock: Any, phone_device: dict[str, Any], vapid_key: str, push_emulator: PushEmulator,
        artifacts_dir: Path) -> None:
    with app.app_context():
        user = make_attendee(email=EMAIL, name="Marie Curie").user
        keynote = db.session.scalars(select(Session).where(Session.source_key == "s-keynote")).one()
        code = keynote.code
        agenda.star(user, keynote, now=clock())
        db.session.commit()
        db.session.remove()
    context = _new_phone(browser, browser_context_args, live_server, phone_device, allow_notifications=True)
    page = context.new_page()
    errors = watch_errors(page)

    _sign_in(page, live_server, mailbox)
    _wait_until_controlled(page)
    on = page.get_by_role("button", name="Turn on notifications on this phone")
    expect(on).to_be_visible()
    expect(page.locator("[data-push-state]")).to_have_text("This phone does not get notifications.")
    expect(page.locator("[data-push-count]")).to_have_text("None of your devices gets notifications yet.")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "notifications-off-390.png", full_page=True)

    on.click()

    expect(page.locator("[data-push-status]")).to_have_text("Notifications are on for this phone.")
    expect(page.locator("[data-push-count]")).to_have_text("1 of your devices gets notifications.")
    expect(on).to_be_hidden()
    expect(page.get_by_role("button", name="Turn off on this phone")).to_be_visible()
    assert page.evaluate("window.stubPush.subscribeCalls") == [
        {"userVisibleOnly": True, "applicationServerKey": vapid_key}]
    keys = phone_device["keys"]
    assert _subscriptions(app) == [(phone_device["endpoint"], keys["p256dh"], keys["auth"], EMAIL)]
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "notifications-on-390.png", full_page=True)

    # The worker sends the keynote's reminder (due 10 minutes before) through the emulator, which
    # decrypts it; the service worker gets exactly those bytes and shows them.
    clock.set(DAY_ONE - timedelta(minutes=10))
    totals = _send_due_reminders(app)
    assert (totals.planned, totals.sent) == (1, 1)
    [payload] = push_emulator.notifications(phone_device["clientHash"])
    assert json.loads(payload) == {"title": "Opening Keynote", "body": "Starts at 09:00 in Master Stage.",
                                   "url": f"/sessions/{code}", "tag": f"session-{code}"}
    cdp, registration_id = _registration_id(context, page, live_server)
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": live_server, "registrationId": registration_id, "data": payload})
    _wait_for_notifications(page, 1)
    digests = app.extensions["asset_digests"]
    icon_192 = f"{live_server}/static/icons/icon-192.png?v={digests['icons/icon-192.png']}"
    badge_96 = f"{live_server}/static/icons/badge-96.png?v={digests['icons/badge-96.png']}"
    assert page.evaluate(NOTIFICATIONS) == [{
        "title": "Opening Keynote", "body": "Starts at 09:00 in Master Stage.", "tag": f"session-{code}",
        "url": f"/sessions/{code}", "icon": icon_192, "badge": badge_96,
    }]

    # A push whose data is not JSON still shows a notification (browsers revoke push otherwise).
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": live_server, "registrationId": registration_id, "data": "not json"})
    _wait_for_notifications(page, 2)
    assert [n for n in page.evaluate(NOTIFICATIONS) if n["tag"] == ""] == [{
        "title": "Conference Companion", "body": "not json", "tag": "", "url": "/", "icon": icon_192,
        "badge": badge_96}]

    # Tapping the reminder, with the app open on another page: that window goes to the session.
    # (The tap is simulated, so Chromium lets the worker navigate a window but not focus one or
    # open one: see TAP_NOTIFICATION. The branch tested is "navigate an open window of the app".)
    worker = _service_worker(context)
    opened = worker.evaluate(TAP_NOTIFICATION, f"session-{code}")
    assert opened == f"{live_server}/sessions/{code}"
    page.wait_for_url(f"{live_server}/sessions/{code}")
    expect(page.locator("h1")).to_have_text("Opening Keynote")
    _wait_for_notifications(page, 1)

    # Tapped again while that page is already open: the window stays as it is (no reload).
    page.evaluate("window.stillHere = true")
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": live_server, "registrationId": registration_id, "data": payload})
    _wait_for_notifications(page, 2)
    opened = worker.evaluate(TAP_NOTIFICATION, f"session-{code}")
    assert opened == f"{live_server}/sessions/{code}"
    _wait_for_notifications(page, 1)
    assert page.evaluate("window.stillHere") is True
    assert page.url == f"{live_server}/sessions/{code}"
    cdp.detach()

    # Turn off: the browser's subscription goes, and so does the server's row.
    page.goto(PAGE)
    off = page.get_by_role("button", name="Turn off on this phone")
    expect(page.locator("[data-push-state]")).to_have_text("This phone gets notifications.")
    off.click()
    expect(page.locator("[data-push-status]")).to_have_text("Notifications are off for this phone.")
    expect(page.locator("[data-push-count]")).to_have_text("None of your devices gets notifications yet.")
    expect(page.get_by_role("button", name="Turn on notifications on this phone")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.pushManager.getSubscription())") is None
    assert _subscriptions(app) == []
    assert errors == []
    context.close()


def test_permission_is_asked_only_from_the_tap_and_a_refusal_says_how_to_allow(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, mailbox: Mailbox,
        phone_device: dict[str, Any], artifacts_dir: Path) -> None:
    with app.app_context():
        make_attendee(email=EMAIL, name="Marie Curie")
        db.session.remove()
    context = _new_phone(browser, browser_context_args, live_server, phone_device, allow_notifications=False)
    page = context.new_page()
    errors = watch_errors(page)
    _sign_in(page, live_server, mailbox)
    _wait_until_controlled(page)
    expect(page.locator("[data-push-state]")).to_have_text("This phone does not get notifications.")
    assert page.evaluate("Notification.permission") == "default"  # opening the page asked nothing

    # Headless Chromium answers the permission prompt with "denied", as a person tapping Block would.
    page.get_by_role("button", name="Turn on notifications on this phone").click()

    expect(page.locator("[data-push-status]")).to_have_text(
        "Notifications are blocked for this site in your browser. To allow them, open the site settings (tap the "
        "icon left of the address, then Permissions or Site settings; in the iPhone app: Settings, Notifications, "
        "then this app), set Notifications to Allow, and tap the button again.")
    assert page.evaluate("Notification.permission") == "denied"
    assert page.evaluate("window.stubPush.subscribeCalls") == []
    assert _subscriptions(app) == []
    expect(page.get_by_role("button", name="Turn on notifications on this phone")).to_be_enabled()
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "notifications-blocked-390.png", full_page=True)
    assert errors == []
    context.close()


IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


def test_iphone_safari_shows_how_to_add_the_app_to_the_home_screen(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, mailbox: Mailbox,
        phone_device: dict[str, Any], artifacts_dir: Path) -> None:
    with app.app_context():
        make_attendee(email=EMAIL, name="Marie Curie")
        db.session.remove()
    context = browser.new_context(**{**browser_context_args, "base_url": live_server, "user_agent": IPHONE_SAFARI})
    context.add_init_script(script=SAFARI_IN_A_TAB)
    page = context.new_page()
    errors = watch_errors(page)
    _sign_in(page, live_server, mailbox)

    instructions = page.locator("[data-push-ios]")
    expect(instructions).to_be_visible()
    assert " ".join(instructions.inner_text().split()) == (
        "On an iPhone or iPad, notifications come only to the app on your Home Screen (iOS 16.4 or later). "
        "Tap Share (the square with an arrow) at the bottom or top of Safari. Choose Add to Home Screen, then Add. "
        "Open the app from your Home Screen, come back to this page and turn notifications on there.")
    expect(page.get_by_role("button", name="Turn on notifications on this phone")).to_be_hidden()
    expect(page.get_by_role("button", name="Turn off on this phone")).to_be_hidden()
    expect(page.locator("[data-push-state]")).to_be_hidden()
    assert page.evaluate("Notification.permission") == "default"
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "notifications-iphone-safari-390.png", full_page=True)
    assert errors == []
    context.close()



# The browser replaced a subscription: the worker's real pushsubscriptionchange listener runs on a
# script-made event (Chromium has no PushSubscriptionChangeEvent constructor, and never fires the
# event itself), with PushManager.subscribe in the worker handing out the emulator's next device.
CHANGE_SUBSCRIPTION = """async ({ old, fresh, oldHasKey, browserSubscribed, key }) => {
  const bytes = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const base64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const subscription = (device, withKey) => ({
    endpoint: device.endpoint,
    options: { userVisibleOnly: true, applicationServerKey: withKey ? bytes(key).buffer : null },
    toJSON: () => ({ endpoint: device.endpoint, expirationTime: null, keys: device.keys }),
  });
  const calls = [];
  const real = PushManager.prototype.subscribe;
  PushManager.prototype.subscribe = async (options) => {
    calls.push({ userVisibleOnly: options.userVisibleOnly, applicationServerKey: base64url(options.applicationServerKey) });
    return subscription(fresh, true);
  };
  try {
    const event = new ExtendableEvent("pushsubscriptionchange");
    let handled = null;
    Object.defineProperties(event, {
      oldSubscription: { value: subscription(old, oldHasKey) },
      newSubscription: { value: browserSubscribed ? subscription(fresh, true) : null },
      waitUntil: { value: (promise) => { handled = promise; } },
    });
    self.dispatchEvent(event);
    await handled;
  } finally {
    PushManager.prototype.subscribe = real;
  }
  return calls;
}"""


def test_a_subscription_the_browser_replaced_moves_to_the_new_one(
        browser: Browser, browser_context_args: dict[str, Any], live_server: str, app: Flask, clock: Any,
        push_emulator: PushEmulator, vapid_key: str) -> None:
    devices = [push_emulator.subscribe(vapid_key) for _ in range(4)]
    with app.app_context():
        user = make_attendee(email=EMAIL, name="Marie Curie").user
        first = devices[0]
        services.subscribe(user, first["endpoint"], first["keys"]["p256dh"], first["keys"]["auth"], now=clock())
        db.session.commit()
        db.session.remove()
    context = browser.new_context(**{**browser_context_args, "base_url": live_server})
    page = context.new_page()
    page.goto("/schedule")  # signed out: the renewal needs no session
    _wait_until_controlled(page)
    worker = _service_worker(context)

    rounds = [
        # (the old subscription says its key, the browser already made the new one)
        (True, True),    # Firefox: newSubscription given, nothing to subscribe
        (True, False),   # subscribe again with the old subscription's key
        (False, False),  # no key on the old one: the worker asks GET /api/v1/push/key
    ]
    for (old, fresh), (old_has_key, browser_subscribed) in zip(zip(devices, devices[1:]), rounds, strict=True):
        calls = worker.evaluate(CHANGE_SUBSCRIPTION, {"old": old, "fresh": fresh, "oldHasKey": old_has_key,
                                                      "browserSubscribed": browser_subscribed, "key": vapid_key})

        expected_calls = [] if browser_subscribed else [{"userVisibleOnly": True, "applicationServerKey": vapid_key}]
        assert calls == expected_calls
        assert _subscriptions(app) == [(fresh["endpoint"], fresh["keys"]["p256dh"], fresh["keys"]["auth"], EMAIL)]
    context.close()
