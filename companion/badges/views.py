"""Badge pages (placeholder: the badges work replaces this)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from companion.accounts.access import attendee_required

bp = Blueprint("badges", __name__)


@bp.get("/me/badge")
@attendee_required
def my_badge() -> ResponseReturnValue:
    return "badge"
