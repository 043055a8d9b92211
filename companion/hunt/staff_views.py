"""Staff hunt pages: stations, the completion rule, counts, completers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hunt_staff", __name__)
