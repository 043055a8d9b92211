"""Schedule JSON API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("schedule_api", __name__, url_prefix="/api/v1")
