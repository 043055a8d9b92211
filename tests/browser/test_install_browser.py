"""Installing the app on a phone-sized Chromium, and the "add to home screen" hint (static/js/install.js).

Chromium decides whether a site is installable (manifest, icons, a service worker) and then fires
``beforeinstallprompt``. Playwright's ordinary contexts are incognito profiles: there Chromium
reports "in-incognito" and never fires the event. A persistent profile (a user data folder) is a
normal profile: there headless Chromium reports no installability error, fires the event, and
answers the real install dialog's prompt() with "dismissed" (headless has no window to show it in).
Safari on an iPhone fires no such event: its hint is tested with Safari's user agent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, BrowserType, Page, expect

from companion.extensions import db
from companion.push.vapid import KEY_FILE, write_key_file
from tests.accounts.factories import make_attendee
from tests.browser.pages import SAFARI_IN_A_TAB, assert_fits_the_phone, wait_until, watch_errors
from tests.mailserver import Mailbox, first_link

pytestmark = pytest.mark.browser

IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/18.5 Mobile/15E148 Safari/604.1")
IPHONE_CHROME = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "CriOS/138.0.7204.156 Mobile/15E148 Safari/604.1")
DISMISSED_KEY = "companion-install-hint-dismissed"
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Counts the events Chromium fires and the calls of the real prompt(), whose answer it records.
SPY = """
window.__installEvents = 0;
window.__prompts = [];
addEventListener("beforeinstallprompt", () => { window.__installEvents += 1; });
if (window.BeforeInstallPromptEvent) {
  const realPrompt = BeforeInstallPromptEvent.prototype.prompt;
  BeforeInstallPromptEvent.prototype.prompt = function () {
    const call = { outcome: null };
    window.__prompts.push(call);
    return realPrompt.call(this).then((choice) => { call.outcome = choice && choice.outcome; return choice; });
  };
}
"""


def _schedule_under_the_worker(context: BrowserContext, live_server: str) -> tuple[Page, list[str]]:
    """The schedule in the installed profile, with the install spy, once the service worker controls it."""
    context.add_init_script(script=SPY)
    page = context.pages[0] if context.pages else context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    _controlled(page)
    return page, errors


def _controlled(page: Page) -> None:
    """Wait until the service worker controls the page, reloading once if it came too late."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if page.evaluate("navigator.serviceWorker.controller === null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")


def _installability_errors(context: BrowserContext, page: Page) -> list[dict[str, Any]]:
    cdp = context.new_cdp_session(page)
    try:
        return list(cdp.send("Page.getInstallabilityErrors")["installabilityErrors"])
    finally:
        cdp.detach()


def _luminance(css_colour: str) -> float:
    match = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, 1)?\)", css_colour)
    assert match, f"not an opaque colour: {css_colour}"
    channels = [int(value) / 255 for value in match.groups()]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(page: Page, text_selector: str, background_selector: str) -> float:
    text = page.eval_on_selector(text_selector, "(el) => getComputedStyle(el).color")
    background = page.eval_on_selector(background_selector, "(el) => getComputedStyle(el).backgroundColor")
    light, dark = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _tab_to(page: Page, selector: str) -> None:
    """Press Shift+Tab from the top of the page (the hint is the last thing in it) until
    ``selector`` has the focus: it is reachable by keyboard."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"Shift+Tab never reached {selector}")


def _assert_focus_is_visible(page: Page, selector: str) -> None:
    style = page.eval_on_selector(selector, "(el) => [el.matches(':focus-visible'), getComputedStyle(el).outlineStyle,"
                                            " getComputedStyle(el).outlineColor, getComputedStyle(el).outlineWidth]")
    assert style == [True, "solid", "rgb(180, 83, 9)", "3px"], style


@pytest.fixture
def installed_profile(browser_type: BrowserType, browser_type_launch_args: dict[str, Any],
                      browser_context_args: dict[str, Any], live_server: str, tmp_path: Path) -> Iterator[BrowserContext]:
    """The phone with a normal (not incognito) profile: Chromium may offer to install the app there."""
    context = browser_type.launch_persistent_context(
        str(tmp_path / "profile"), **browser_type_launch_args, **{**browser_context_args, "base_url": live_server})
    yield context
    context.close()


def test_chromium_finds_the_app_installable_and_the_button_opens_its_dialog(
        installed_profile: BrowserContext, live_server: str, schedule: None, artifacts_dir: Path) -> None:
    context = installed_profile
    page, errors = _schedule_under_the_worker(context, live_server)
    assert _installability_errors(context, page) == []

    hint = page.locator("[data-install-hint]")
    install = page.get_by_role("button", name="Install app")
    expect(install).to_be_visible()  # Chromium fired beforeinstallprompt and the page kept it
    assert page.evaluate("window.__installEvents") >= 1
    expect(hint.locator("#install-hint-title")).to_have_text("Put Companion on your home screen")
    expect(hint.locator("[data-install-prompt]")).to_have_text("It opens full screen like an app and works on flaky Wi-Fi.")
    expect(hint.locator("[data-install-ios]")).to_be_hidden()
    expect(page.get_by_role("button", name="Not now")).to_be_visible()
    expect(page.get_by_role("complementary", name="Put Companion on your home screen")).to_be_visible()
    # Readable (WCAG AA, 4.5:1) and reachable by keyboard with a visible focus ring.
    assert _contrast(page, "#install-hint-title", ".install-hint-box") >= 4.5
    assert _contrast(page, "[data-install-button]", "[data-install-button]") >= 4.5
    assert _contrast(page, "[data-install-dismiss]", "[data-install-dismiss]") >= 4.5
    _tab_to(page, "[data-install-button]")
    _assert_focus_is_visible(page, "[data-install-button]")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "install-button-390.png")  # the screen as the phone shows it

    # The button opens Chromium's own dialog through the kept event (headless answers "dismissed").
    page.keyboard.press("Enter")
    wait_until(page, "window.__prompts.length === 1 && window.__prompts[0].outcome !== null")
    assert page.evaluate("window.__prompts") == [{"outcome": "dismissed"}]
    expect(hint).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "main"  # the focus is not lost on <body>
    # A "no" in the dialog is remembered: the next page does not ask again, though Chromium offers.
    assert ISO_TIME.match(page.evaluate(f"localStorage.getItem('{DISMISSED_KEY}')"))
    page.reload()
    wait_until(page, "window.__installEvents >= 1")
    expect(hint).to_be_hidden()
    expect(install).to_be_hidden()
    assert errors == []


def test_not_now_hides_the_install_button_for_good(installed_profile: BrowserContext, live_server: str,
                                                   schedule: None) -> None:
    context = installed_profile
    page, errors = _schedule_under_the_worker(context, live_server)
    expect(page.get_by_role("button", name="Install app")).to_be_visible()
    page.get_by_role("button", name="Not now").click()
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    assert page.evaluate("window.__prompts") == []  # "Not now" opens no dialog
    assert ISO_TIME.match(page.evaluate(f"localStorage.getItem('{DISMISSED_KEY}')"))
    page.goto(f"{live_server}/offline")
    wait_until(page, "window.__installEvents >= 1")
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    assert errors == []


def test_no_install_button_when_already_running_as_the_app(installed_profile: BrowserContext, live_server: str,
                                                          schedule: None) -> None:
    # Chromium's DevTools cannot emulate display-mode (Emulation.setEmulatedMedia ignores it):
    # answer the display-mode query as the installed app's window would.
    context = installed_profile
    context.add_init_script(script=SPY + """
const realMatchMedia = window.matchMedia.bind(window);
window.matchMedia = (query) => query === "(display-mode: standalone)"
  ? { matches: true, media: query, onchange: null, addEventListener() {}, removeEventListener() {} }
  : realMatchMedia(query);
""")
    page = context.pages[0] if context.pages else context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    _controlled(page)
    page.reload()
    wait_until(page, "window.__installEvents >= 1")  # Chromium offers: the page says nothing
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    expect(page.get_by_role("button", name="Install app")).to_be_hidden()
    assert errors == []


def test_incognito_chromium_reports_only_the_incognito_note(page: Page, context: BrowserContext, live_server: str,
                                                            schedule: None) -> None:
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    _controlled(page)
    # Playwright's contexts are incognito profiles: Chromium installs nothing from them, says so,
    # and finds nothing else wrong with the manifest, the icons or the service worker.
    assert _installability_errors(context, page) == [{"errorId": "in-incognito", "errorArguments": []}]
    # Chromium's reading of the manifest: no warnings, and the app and its two shortcuts as declared.
    cdp = context.new_cdp_session(page)
    answer = cdp.send("Page.getAppManifest")
    cdp.detach()
    assert answer["url"] == f"{live_server}/manifest.webmanifest"
    assert answer["errors"] == []
    manifest = answer["manifest"]
    assert {key: manifest[key] for key in ("id", "name", "startUrl", "scope", "display", "themeColor")} == {
        "id": f"{live_server}/", "name": "Test Conf 2026", "startUrl": f"{live_server}/schedule",
        "scope": f"{live_server}/", "display": "kStandalone", "themeColor": "rgba(22,50,92,1)"}
    assert manifest["shortcuts"] == [{"name": "My agenda", "url": f"{live_server}/agenda"},
                                     {"name": "My badge", "url": f"{live_server}/me/badge"}]
    assert [(icon["sizes"], icon["url"].split("?")[0]) for icon in manifest["icons"]] == [
        ("192x192", f"{live_server}/static/icons/icon-192.png"), ("512x512", f"{live_server}/static/icons/icon-512.png"),
        ("512x512", f"{live_server}/static/icons/icon-maskable-512.png")]
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    assert errors == []


def test_iphone_safari_explains_add_to_home_screen_until_not_now(new_context: Any, live_server: str, schedule: None,
                                                                 artifacts_dir: Path) -> None:
    context = new_context(user_agent=IPHONE_SAFARI)
    context.add_init_script(script=SAFARI_IN_A_TAB)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    hint = page.locator("[data-install-hint]")
    expect(hint).to_be_visible()
    assert " ".join(hint.inner_text().split()) == (
        "Put Companion on your home screen "
        "It opens full screen and works on flaky Wi-Fi: tap Share in Safari's toolbar, then Add to Home Screen. "
        "Not now")
    expect(page.get_by_role("button", name="Install app")).to_be_hidden()
    expect(hint.locator("[data-install-prompt]")).to_be_hidden()
    assert _contrast(page, "[data-install-ios]", ".install-hint-box") >= 4.5
    _tab_to(page, "[data-install-dismiss]")
    _assert_focus_is_visible(page, "[data-install-dismiss]")
    assert_fits_the_phone(page)
    page.screenshot(path=artifacts_dir / "install-hint-iphone-390.png")

    page.keyboard.press("Enter")
    expect(hint).to_be_hidden()
    assert ISO_TIME.match(page.evaluate(f"localStorage.getItem('{DISMISSED_KEY}')"))
    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text("Schedule Tuesday 7 April 2026")
    expect(hint).to_be_hidden()
    page.evaluate(f"localStorage.removeItem('{DISMISSED_KEY}')")  # forgotten: the hint comes back
    page.reload()
    expect(hint).to_be_visible()
    assert errors == []


@pytest.mark.parametrize(("user_agent", "standalone"), [(IPHONE_SAFARI, True), (IPHONE_CHROME, False)],
                         ids=["home-screen-app", "chrome-on-ios"])
def test_no_hint_in_the_home_screen_app_nor_in_other_ios_browsers(new_context: Any, live_server: str, schedule: None,
                                                                  user_agent: str, standalone: bool) -> None:
    context = new_context(user_agent=user_agent)
    context.add_init_script(
        script=f"Object.defineProperty(Navigator.prototype, 'standalone', {{ get: () => {str(standalone).lower()} }})")
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/schedule")
    page.wait_for_load_state("load")
    # install.js has run (module scripts run before "load"), and left the hint hidden.
    assert page.evaluate("document.querySelector('script[src^=\"/static/js/install.js\"]') !== null")
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    assert errors == []


def test_iphone_notifications_page_explains_the_home_screen_once(new_context: Any, live_server: str, app: Flask,
                                                                 mailbox: Mailbox, schedule: None) -> None:
    # Push on iOS needs the Home Screen app: that page has its own steps, so the hint keeps quiet there.
    if not (Path(app.instance_path) / KEY_FILE).exists():
        write_key_file(Path(app.instance_path))
    with app.app_context():
        make_attendee(email="marie.curie@example.org", name="Marie Curie")
        db.session.remove()
    context = new_context(user_agent=IPHONE_SAFARI)
    context.add_init_script(script=SAFARI_IN_A_TAB)
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(f"{live_server}/me/notifications")
    page.wait_for_url(f"{live_server}/sign-in?next=/me/notifications")
    expect(page.locator("[data-install-hint]")).to_be_visible()  # every other page shows it
    page.get_by_label("Email address").fill("marie.curie@example.org")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your mail")
    page.goto(first_link(mailbox.wait_for("marie.curie@example.org")))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/me/notifications")
    expect(page.locator("[data-push-ios]")).to_be_visible()
    expect(page.locator("[data-install-hint]")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('companion-install-hint-dismissed')") is None  # not dismissed
    assert errors == []
