"""Staff home: what the signed-in staff member can do, by role."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from flask_login import current_user

from companion.accounts.access import role_required
from companion.staff import links

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@role_required("staff", "booth")
def home() -> ResponseReturnValue:
    """Links to the staff pages this person's role opens."""
    return render_template("staff/home.html", links=links.visible_to(current_user))
