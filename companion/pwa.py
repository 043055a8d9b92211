"""The installable web app: manifest, service worker at the root scope, offline page.

The service worker's logic lives in static/sw.js. It is served at ``/sw.js`` (so its scope is
the whole site) with one line put in front of it, which tells it this deployment's asset version
and the hashed URLs of the app shell to precache. A new deployment changes that line, so
browsers see a new worker, install it and drop the old caches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import cast

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from companion.schedule import queries

bp = Blueprint("pwa", __name__)

DEFAULT_NAME = "Conference Companion"
SHORT_NAME = "Companion"
THEME_COLOUR = "#16325c"
BACKGROUND_COLOUR = "#ffffff"
# The app shell: every static file in these folders is precached by the service worker.
SHELL_FOLDERS = ("css/", "js/", "icons/")
ICONS = (
    ("icons/icon-192.png", "192x192", "any"),
    ("icons/icon-512.png", "512x512", "any"),
    ("icons/icon-maskable-512.png", "512x512", "maskable"),
)
# Long-press the app's icon (Android) or right-click it (desktop): straight to these pages.
# (name, short name, what it opens, endpoint, 96 px icon drawn by docs/make_icons.py)
SHORTCUTS = (
    ("My agenda", "Agenda", "The sessions you starred, with clashes and free time", "agenda.agenda",
     "icons/shortcut-agenda-96.png"),
    ("My badge", "Badge", "Your badge QR code for the door, even offline", "badges.my_badge",
     "icons/shortcut-badge-96.png"),
)


def _asset_url(app: Flask) -> Callable[[str], str]:
    return cast(Callable[[str], str], app.jinja_env.globals["asset_url"])


def precache_urls(app: Flask) -> list[str]:
    """The hashed URLs of the app shell (css, js, icons) and the offline page.

    :param app: the app whose static digests (see :mod:`companion.assets`) name the files.
    """
    digests: dict[str, str] = app.extensions["asset_digests"]
    asset_url = _asset_url(app)
    shell = [asset_url(name) for name in sorted(digests) if name.startswith(SHELL_FOLDERS)]
    return [*shell, url_for("pwa.offline"), url_for("offline_queue.page")]


def service_worker_source(app: Flask) -> str:
    """static/sw.js with its first line: ``const VERSION = "..."; const PRECACHE = [...];``."""
    cached = app.extensions.get("pwa_sw_source")
    if cached is None:
        logic = (Path(app.static_folder or "static") / "sw.js").read_text(encoding="utf-8")
        header = (
            f"const VERSION = {json.dumps(app.config['ASSET_VERSION'])}; "
            f"const PRECACHE = {json.dumps(precache_urls(app))};\n"
        )
        cached = app.extensions["pwa_sw_source"] = header + logic
    return str(cached)


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, from the root so that it may control every page."""
    response = current_app.response_class(service_worker_source(current_app._get_current_object()),  # type: ignore[attr-defined]
                                          mimetype="text/javascript")
    # Browsers revalidate the worker on every navigation anyway; no-cache keeps proxies honest.
    response.cache_control.no_cache = True
    response.headers["Service-Worker-Allowed"] = "/"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: name, start URL, colours, icons (hashed URLs) and shortcuts."""
    conference = queries.get_conference()
    asset_url = _asset_url(current_app)
    body = {
        "id": "/",
        "name": conference.title if conference else DEFAULT_NAME,
        "short_name": SHORT_NAME,
        "description": "The conference schedule, rooms and speakers on your phone, even offline.",
        "start_url": "/schedule",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND_COLOUR,
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": asset_url(name), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for name, sizes, purpose in ICONS
        ],
        "shortcuts": [
            {"name": name, "short_name": short_name, "description": description, "url": url_for(endpoint),
             "icons": [{"src": asset_url(icon), "sizes": "96x96", "type": "image/png"}]}
            for name, short_name, description, endpoint, icon in SHORTCUTS
        ],
    }
    response = current_app.response_class(json.dumps(body, indent=2), mimetype="application/manifest+json")
    response.cache_control.no_cache = True
    response.add_etag()
    return response.make_conditional(request)


@bp.app_context_processor
def _app_names() -> dict[str, str]:
    # base.html names the app on an iPhone's home screen (apple-mobile-web-app-title) with it.
    return {"app_short_name": SHORT_NAME}


@bp.get("/offline")
def offline() -> str:
    """The page the service worker shows for a page that is neither online nor saved."""
    return render_template("pwa/offline.html")
