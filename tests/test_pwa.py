"""The installable app: manifest, service worker served from the root, offline page, icons."""

from __future__ import annotations

import io
import json
import re

from PIL import Image

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
    }


def test_manifest_name_is_the_conference_title(client, db):
    load_schedule()
    assert client.get("/manifest.webmanifest").json["name"] == "Test Conf 2026"


def test_manifest_icons_exist_with_their_declared_sizes(client):
    for icon in client.get("/manifest.webmanifest").json["icons"]:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response.mimetype == "image/png"
        with Image.open(io.BytesIO(response.data)) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
            assert image.format == "PNG"


def test_maskable_icon_fills_the_whole_square(client):
    icon = client.get("/manifest.webmanifest").json["icons"][2]
    with Image.open(io.BytesIO(client.get(icon["src"]).data)) as image:
        corners = [image.convert("RGBA").getpixel(xy) for xy in ((0, 0), (511, 0), (0, 511), (511, 511))]
    assert corners == [(22, 50, 92, 255)] * 4  # opaque brand blue: nothing to lose when cropped


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


def test_precache_lists_the_hashed_app_shell_and_the_offline_page(client, app):
    precache = json.loads(_header(client)["precache"])
    digests = app.extensions["asset_digests"]
    assert precache[-1] == "/offline"
    assert precache[:-1] == [f"/static/{name}?v={digests[name]}" for name in sorted(digests)
                             if name.startswith(("css/", "js/", "icons/"))]
    assert {"/static/css/app.css", "/static/js/app.js", "/static/js/timezone.js", "/static/icons/icon-192.png"} <= {
        url.split("?")[0] for url in precache}


def test_every_precache_url_answers_200(client):
    for url in json.loads(_header(client)["precache"]):
        response = client.get(url)
        assert response.status_code == 200, url


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


def test_first_load_of_the_schedule_is_small(client, db):
    load_schedule()
    total = len(client.get("/schedule").data)
    for url in re.findall(r'(?:href|src)="(/static/(?:css|js)/[^"]+|/schedule/tracks\.css)"', client.get("/schedule").text):
        total += len(client.get(url).data)
    assert total < 150_000, total
