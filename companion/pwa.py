"""The installable web app: manifest, service worker at the root scope, offline page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pwa", __name__)
