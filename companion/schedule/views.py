"""Schedule pages (placeholder until the pages land)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("schedule", __name__)


@bp.get("/")
def index() -> str:
    return "schedule"
