"""A new deployment's service worker takes over without leaving pages broken.

The app hashes its static files when it starts (companion/assets.py): ASSET_VERSION names the
worker's shell cache and each asset's URL carries its file's hash. A deployment here is what a
real one is: the same app code started on a changed static folder. The test copies static/ into
a temporary folder, changes the stylesheet and a script there, points the running app at it and
runs the start-up hashing again (and drops the service worker source it built from the old
folder); afterwards it puts the app back as it was for the other tests of the session.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from companion import assets
from tests.browser.pages import assert_fits_the_phone, wait_until, watch_errors

pytestmark = pytest.mark.browser

# What the second deployment changes: a CSS custom property and a data attribute set by app.js,
# both visible from the page, so the test can tell which version of each file it was given.
CSS_CHANGE = '\n:root { --deployment: "second"; }\n'
JS_CHANGE = '\ndocument.documentElement.dataset.deployment = "second";\n'
BRAND_BLUE = "rgb(22, 50, 92)"


@pytest.fixture
def deploy(app: Flask, tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Deploy a second version of the static files to the live server; afterwards the app is put
    back exactly as it was (its folder, hashes, version and worker source), for the other tests."""
    original = app.static_folder
    assert original is not None
    saved = (app.config["ASSET_VERSION"], app.extensions["asset_digests"], app.jinja_env.globals["asset_url"],
             app.extensions.get("pwa_sw_source"))

    def second_deployment() -> None:
        folder = tmp_path / "static-second"
        shutil.copytree(original, folder)
        with open(folder / "css" / "app.css", "a", encoding="utf-8") as css:
            css.write(CSS_CHANGE)
        with open(folder / "js" / "app.js", "a", encoding="utf-8") as js:
            js.write(JS_CHANGE)
        # What starting the app on that folder does: hash it (companion/assets.py), and build the
        # service worker's source with the new version on first request (companion/pwa.py).
        app.static_folder = str(folder)
        assets.init_app(app)
        app.extensions.pop("pwa_sw_source", None)

    yield second_deployment
    app.static_folder = original
    app.config["ASSET_VERSION"], app.extensions["asset_digests"], app.jinja_env.globals["asset_url"] = saved[:3]
    if saved[3] is None:
        app.extensions.pop("pwa_sw_source", None)
    else:
        app.extensions["pwa_sw_source"] = saved[3]


def _controlled(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if page.evaluate("navigator.serviceWorker.controller === null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")


def _cache_names(page: Page) -> list[str]:
    return sorted(page.evaluate("caches.keys()"))


def _worker_versions(events: list[dict[str, Any]]) -> dict[str, str]:
    """Each service worker version Chromium told DevTools of (by versionId), with its last status."""
    statuses: dict[str, str] = {}
    for event in events:
        for version in event["versions"]:
            statuses[version["versionId"]] = version["status"]
    return statuses


def _wait_for_versions(page: Page, events: list[dict[str, Any]], count: int, timeout: float = 10.0) -> dict[str, str]:
    """The worker versions once there are ``count`` and none is still installing or activating."""
    deadline = time.monotonic() + timeout
    while True:
        versions = _worker_versions(events)
        if len(versions) >= count and set(versions.values()) <= {"activated", "redundant"}:
            return versions
        if time.monotonic() > deadline:
            raise AssertionError(f"worker versions after {timeout} s: {versions}")
        page.wait_for_timeout(50)


def _page_state(page: Page) -> dict[str, Any]:
    return page.evaluate("""() => ({
      stylesheet: new URL(document.querySelector('link[rel=stylesheet][href^="/static/css/app.css"]').href).search,
      appScript: new URL(document.querySelector('script[src^="/static/js/app.js"]').src).search,
      cssDeployment: getComputedStyle(document.documentElement).getPropertyValue('--deployment').trim(),
      jsDeployment: document.documentElement.dataset.deployment || null,
      header: getComputedStyle(document.querySelector('.site-header')).backgroundColor,
      h1: document.querySelector('h1').textContent.trim().replace(/\\s+/g, ' '),
    })""")


def test_a_new_deployment_takes_over_without_breaking_pages(page: Page, context: BrowserContext, live_server: str,
                                                           schedule: None, app: Flask, deploy: Callable[[], None],
                                                           artifacts_dir: Path) -> None:
    errors = watch_errors(page)
    cdp = context.new_cdp_session(page)
    events: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerVersionUpdated", lambda event: events.append(event))
    cdp.send("ServiceWorker.enable")

    # The first deployment: the worker installs, controls the page and holds its shell cache.
    page.goto(f"{live_server}/schedule")
    _controlled(page)
    old_version = app.config["ASSET_VERSION"]
    old_digests = dict(app.extensions["asset_digests"])
    assert _cache_names(page) == ["companion-runtime-1", f"companion-shell-{old_version}"]
    assert _page_state(page) == {
        "stylesheet": f"?v={old_digests['css/app.css']}", "appScript": f"?v={old_digests['js/app.js']}",
        "cssDeployment": "", "jsDeployment": None, "header": BRAND_BLUE, "h1": "Schedule Tuesday 7 April 2026"}
    first = _wait_for_versions(page, events, 1)
    assert list(first.values()) == ["activated"]
    old_css = f"/static/css/app.css?v={old_digests['css/app.css']}"
    old_js = f"/static/js/app.js?v={old_digests['js/app.js']}"
    old_css_text = page.evaluate(f"fetch('{old_css}').then((r) => r.text())")
    assert CSS_CHANGE not in old_css_text
    # A second tab, left open on the first deployment's page through the update.
    old_tab = context.new_page()
    old_tab_errors = watch_errors(old_tab)
    old_tab.goto(f"{live_server}/schedule")
    wait_until(old_tab, "navigator.serviceWorker.controller !== null")
    old_tab.evaluate("window.__controllerChanges = 0; navigator.serviceWorker.addEventListener("
                     "'controllerchange', () => { window.__controllerChanges += 1; })")

    deploy()
    new_version = app.config["ASSET_VERSION"]
    new_digests = app.extensions["asset_digests"]
    assert new_version != old_version
    assert {name for name in new_digests if new_digests[name] != old_digests[name]} == {"css/app.css", "js/app.js"}

    # Reloading fetches the new page, and the browser finds the changed worker script.
    response = page.reload()
    assert response is not None and response.status == 200
    wait_until(page, f"caches.keys().then((names) => names.includes('companion-shell-{new_version}')"
                     f" && !names.includes('companion-shell-{old_version}'))", timeout=20)
    wait_until(page, "navigator.serviceWorker.getRegistration().then((r) => !!r && !r.installing && !r.waiting"
                     " && r.active.state === 'activated' && r.active === navigator.serviceWorker.controller)")
    # Exactly two worker versions: the first one is gone, the new one is the active one.
    versions = _wait_for_versions(page, events, 2)
    (old_id,) = first
    assert len(versions) == 2 and old_id in versions
    (new_id,) = set(versions) - {old_id}
    assert versions == {old_id: "redundant", new_id: "activated"}
    assert _cache_names(page) == ["companion-runtime-1", f"companion-shell-{new_version}"]
    # The page runs on the new deployment: its new stylesheet and script, the page whole.
    assert _page_state(page) == {
        "stylesheet": f"?v={new_digests['css/app.css']}", "appScript": f"?v={new_digests['js/app.js']}",
        "cssDeployment": '"second"', "jsDeployment": "second", "header": BRAND_BLUE,
        "h1": "Schedule Tuesday 7 April 2026"}
    expect(page.locator("section.slot .session-title a")).to_have_count(5)
    new_css = f"/static/css/app.css?v={new_digests['css/app.css']}"
    shell_css = page.evaluate(f"caches.open('companion-shell-{new_version}').then((c) => c.match('{new_css}'))"
                              ".then((r) => r ? r.text() : null)")
    assert shell_css is not None and shell_css.endswith(CSS_CHANGE)

    # The new worker serves the next load, and offline too.
    response = page.reload()
    assert response is not None and response.from_service_worker
    assert _page_state(page)["cssDeployment"] == '"second"'
    context.set_offline(True)
    try:
        response = page.reload()
        assert response is not None and response.from_service_worker
        assert _page_state(page) == {
            "stylesheet": f"?v={new_digests['css/app.css']}", "appScript": f"?v={new_digests['js/app.js']}",
            "cssDeployment": '"second"', "jsDeployment": "second", "header": BRAND_BLUE,
            "h1": "Schedule Tuesday 7 April 2026"}
        assert_fits_the_phone(page)
        page.screenshot(path=artifacts_dir / "schedule-after-update-offline-390.png", full_page=True)

        # The tab left on the first deployment: the new worker took it over, and the files its
        # page names by their old hashes (in no cache of the worker now) still come. First from the
        # browser's HTTP cache, which keeps hashed URLs for a year: the old page's own stylesheet.
        assert old_tab.evaluate("window.__controllerChanges") == 1
        assert old_tab.evaluate("navigator.serviceWorker.getRegistration().then((r) =>"
                                " r.active === navigator.serviceWorker.controller && r.active.state)") == "activated"
        assert _page_state(old_tab) == {
            "stylesheet": f"?v={old_digests['css/app.css']}", "appScript": f"?v={old_digests['js/app.js']}",
            "cssDeployment": "", "jsDeployment": None, "header": BRAND_BLUE, "h1": "Schedule Tuesday 7 April 2026"}
        fetch = "(url) => fetch(url).then(async (r) => [r.status, await r.text()])"
        assert old_tab.evaluate(fetch, old_css) == [200, old_css_text]
        # Without that HTTP cache (a phone that dropped it): the worker's fallback, the new file.
        cdp.send("Network.clearBrowserCache")
        status, text = old_tab.evaluate(fetch, old_js)
        assert status == 200 and text.endswith(JS_CHANGE)
        response = old_tab.reload()
        assert response is not None and response.from_service_worker
        assert _page_state(old_tab)["cssDeployment"] == '"second"'
    finally:
        context.set_offline(False)
    cdp.detach()
    # Offline, the browser logs the failed fetches the worker answered for; nothing else may fail.
    assert [e for e in errors + old_tab_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
