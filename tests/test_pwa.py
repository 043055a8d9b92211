"""The installable app: manifest, service worker served from the root, offline page, icons."""

from __future__ import annotations

import io
import json
import math
import os
import re

from PIL import Image

from tests.accounts.factories import make_attendee, sign_in
from tests.factories import load_schedule

HEADER = re.compile(r'^const VERSION = "(?P<version>[0-9a-f]+)"; const PRECACHE = (?P<precache>\[.*\]);$')


def _header(client) -> re.Match[str]:
    first_line = client.get("/sw.js").text.split("\n", 1)[0]
    match = HEADER.match(first_line)
    assert match, first_line
    return match


def test_manifest_fields_before_any_import(client, app):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    digests = app.extensions["asset_digests"]
    assert response.json == {
        "id": "/",
        "name": "Conference Companion",
        "short_name": "Companion",
        "description": "The conference schedule, rooms and speakers on your phone, even offline.",
        "start_url": "/schedule",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#16325c",
        "icons": [
            {"src": f"/static/icons/icon-192.png?v={digests['icons/icon-192.png']}", "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": f"/static/icons/icon-512.png?v={digests['icons/icon-512.png']}", "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": f"/static/icons/icon-maskable-512.png?v={digests['icons/icon-maskable-512.png']}",
             "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
        "shortcuts": [
            {"name": "My agenda", "short_name": "Agenda",
             "description": "The sessions you starred, with clashes and free time", "url": "/agenda",
             "icons": [{"src": f"/static/icons/shortcut-agenda-96.png?v={digests['icons/shortcut-agenda-96.png']}",
                        "sizes": "96x96", "type": "image/png"}]},
            {"name": "My badge", "short_name": "Badge",
             "description": "Your badge QR code for the door, even offline", "url": "/me/badge",
             "icons": [{"src": f"/static/icons/shortcut-badge-96.png?v={digests['icons/shortcut-badge-96.png']}",
                        "sizes": "96x96", "type": "image/png"}]},
        ],
    }
    assert list(response.json) == ["id", "name", "short_name", "description", "start_url", "scope", "display",
                                   "background_color", "theme_color", "icons", "shortcuts"]


def test_manifest_name_is_the_conference_title(client, db):
    load_schedule()
    assert client.get("/manifest.webmanifest").json["name"] == "Test Conf 2026"


def test_manifest_icons_exist_with_their_declared_sizes(client):
    manifest = client.get("/manifest.webmanifest").json
    icons = manifest["icons"] + [icon for shortcut in manifest["shortcuts"] for icon in shortcut["icons"]]
    assert len(icons) == 5
    for icon in icons:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == "image/png"
        with Image.open(io.BytesIO(response.data)) as image:
            assert (image.format, f"{image.width}x{image.height}") == ("PNG", icon["sizes"]), icon["src"]
            image.verify()  # the whole file decodes, not just its header


def test_icon_sizes_are_the_ones_chromium_and_launchers_need(client):
    manifest = client.get("/manifest.webmanifest").json
    assert [(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]] == [
        ("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")]
    assert [[icon["sizes"] for icon in shortcut["icons"]] for shortcut in manifest["shortcuts"]] == [["96x96"], ["96x96"]]


def test_maskable_icon_fills_the_whole_square(client):
    icon = client.get("/manifest.webmanifest").json["icons"][2]
    with Image.open(io.BytesIO(client.get(icon["src"]).data)) as image:
        corners = [image.convert("RGBA").getpixel(xy) for xy in ((0, 0), (511, 0), (0, 511), (511, 511))]
    assert corners == [(22, 50, 92, 255)] * 4  # opaque brand blue: nothing to lose when cropped


def _furthest_mark_pixel(image: Image.Image) -> float:
    """How far from the centre, as a fraction of the width, the furthest pixel that is not the
    background colour (the top-left corner's) lies."""
    rgba = image.convert("RGBA")
    background = rgba.getpixel((0, 0))
    width, height = rgba.size
    pixels = rgba.load()
    furthest = 0.0
    for y in range(height):
        for x in range(width):
            if pixels[x, y] != background:
                furthest = max(furthest, math.hypot(x + 0.5 - width / 2, y + 0.5 - height / 2))
    return furthest / width


def test_maskable_icon_keeps_its_mark_inside_the_safe_zone(client):
    # Launchers crop maskable icons to any shape that contains the central circle of 40 % radius.
    icon = client.get("/manifest.webmanifest").json["icons"][2]
    with Image.open(io.BytesIO(client.get(icon["src"]).data)) as image:
        image.load()
    furthest = _furthest_mark_pixel(image)
    assert 0.25 < furthest <= 0.40, furthest  # the mark is there, and inside the circle
    # The test itself can fail: a mark drawn out to the edge is outside the safe zone.
    spoiled = image.copy()
    spoiled.putpixel((40, 256), (255, 255, 255, 255))
    assert _furthest_mark_pixel(spoiled) > 0.40


def test_shortcut_icons_keep_their_mark_inside_a_round_mask(client):
    for shortcut in client.get("/manifest.webmanifest").json["shortcuts"]:
        with Image.open(io.BytesIO(client.get(shortcut["icons"][0]["src"]).data)) as image:
            image.load()
        assert image.convert("RGBA").getpixel((0, 0)) == (22, 50, 92, 255), shortcut["name"]
        assert 0.2 < _furthest_mark_pixel(image) <= 0.40, shortcut["name"]


def test_shortcuts_open_real_pages_for_a_signed_in_attendee(client, db):
    load_schedule()
    ada = make_attendee(email="ada@example.org", name="Ada Lovelace")
    shortcuts = client.get("/manifest.webmanifest").json["shortcuts"]
    # Signed out, each shortcut leads to the sign-in page (it is a private page, not a 404).
    for shortcut in shortcuts:
        response = client.get(shortcut["url"])
        assert response.status_code == 302, shortcut["url"]
        assert response.headers["Location"].startswith("/sign-in"), response.headers["Location"]
    sign_in(client, ada.user)
    titles = []
    for shortcut in shortcuts:
        response = client.get(shortcut["url"])
        assert response.status_code == 200, shortcut["url"]
        titles.append(re.search(r"<h1>(.*?)</h1>", response.text)[1])
    assert titles == ["My agenda", "My badge"]
    assert [shortcut["name"] for shortcut in shortcuts] == titles


def test_service_worker_served_from_root_with_its_headers(client, app):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_service_worker_knows_the_asset_version_and_keeps_its_logic(client, app):
    header = _header(client)
    assert header["version"] == app.config["ASSET_VERSION"]
    logic = (app.static_folder + "/sw.js")
    with open(logic, encoding="utf-8") as handle:
        assert client.get("/sw.js").text.split("\n", 1)[1] == handle.read()


def test_precache_lists_the_hashed_app_shell_the_offline_page_and_the_queue(client, app):
    precache = json.loads(_header(client)["precache"])
    digests = app.extensions["asset_digests"]
    assert precache[-2:] == ["/offline", "/queue"]
    assert precache[:-2] == [f"/static/{name}?v={digests[name]}" for name in sorted(digests)
                             if name.startswith(("css/", "js/", "icons/"))]
    assert {"/static/css/app.css", "/static/js/app.js", "/static/js/timezone.js", "/static/icons/icon-192.png",
            "/static/js/queue-core.js", "/static/js/queue-view.js"} <= {
        url.split("?")[0] for url in precache}


def test_every_precache_url_answers_200(client):
    for url in json.loads(_header(client)["precache"]):
        response = client.get(url)
        assert response.status_code == 200, url


def test_modules_import_each_other_only_by_hashed_url(app):
    """A static ``import ... from "./x.js"`` asks for the unhashed URL, which is served for a year and
    not kept offline by the worker: modules come from hashed tags, or by a URL the page gives."""
    static_js = app.static_folder + "/js"
    sources = {name: open(os.path.join(static_js, name), encoding="utf-8").read()
               for name in sorted(os.listdir(static_js)) if name.endswith(".js")}
    relative = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](?:\.{1,2}/|/static/)""")
    assert {name for name, source in sources.items() if relative.search(source)} == set()
    # The scanner pages load scanner.js through the URL they give, which the worker precaches.
    for page in ("checkin.js", "hunt-scan.js"):
        assert "await import(scanner.dataset.scannerUrl)" in sources[page], page


def test_offline_page(client):
    response = client.get("/offline")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<h1>You're offline</h1>" in response.text
    assert "Pages you opened before are still here" in response.text


def test_pages_link_the_manifest_icons_and_register_the_worker(client, app):
    html = client.get("/offline").text
    digests = app.extensions["asset_digests"]
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert f'<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png?v={digests["icons/apple-touch-icon.png"]}">' in html
    assert f'<script type="module" src="/static/js/app.js?v={digests["js/app.js"]}"></script>' in html
    with open(app.static_folder + "/js/app.js", encoding="utf-8") as handle:
        assert 'navigator.serviceWorker.register("/sw.js", { scope: "/" })' in handle.read()


def test_pages_carry_the_home_screen_tags_and_the_install_hint(client, app):
    html = client.get("/offline").text
    digests = app.extensions["asset_digests"]
    head = html.split("</head>", 1)[0]
    for tag in (
        '<meta name="theme-color" content="#16325c">',
        '<meta name="mobile-web-app-capable" content="yes">',
        '<meta name="apple-mobile-web-app-capable" content="yes">',
        '<meta name="apple-mobile-web-app-title" content="Companion">',
        '<meta name="apple-mobile-web-app-status-bar-style" content="default">',
        f'<script type="module" src="/static/js/install.js?v={digests["js/install.js"]}"></script>',
    ):
        assert head.count(tag) == 1, tag
    assert head.count('name="apple-mobile-web-app-title"') == 1
    # The hint is in every page, hidden: install.js shows it only where the app can be installed.
    hint = re.search(r'<aside class="wrap install-hint" data-install-hint aria-labelledby="install-hint-title" hidden>'
                     r'(.*?)</aside>', html, re.S)
    assert hint, "no install hint"
    assert '<p class="install-hint-title" id="install-hint-title">Put Companion on your home screen</p>' in hint[1]
    assert '<button type="button" data-install-button hidden>Install app</button>' in hint[1]
    assert '<button type="button" class="button-secondary" data-install-dismiss>Not now</button>' in hint[1]
    assert '<span class="install-key">Add to Home Screen</span>' in hint[1]
    # In the footer, read after the page's content; shown fixed at the bottom of the screen.
    assert html.index('<footer class="site-footer">') < html.index("data-install-hint") < html.index("</footer>")


def test_install_script_is_small_and_remembers_not_now(app):
    with open(app.static_folder + "/js/install.js", encoding="utf-8") as handle:
        source = handle.read()
    assert len(source.encode()) < 4_000
    assert 'addEventListener("beforeinstallprompt"' in source
    assert 'matchMedia("(display-mode: standalone)")' in source and "navigator.standalone === true" in source
    assert 'const DISMISSED_KEY = "companion-install-hint-dismissed";' in source


def test_first_load_of_the_schedule_is_small(client, db):
    load_schedule()
    total = len(client.get("/schedule").data)
    for url in re.findall(r'(?:href|src)="(/static/(?:css|js)/[^"]+|/schedule/tracks\.css)"', client.get("/schedule").text):
        total += len(client.get(url).data)
    assert total < 150_000, total
