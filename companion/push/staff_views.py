"""Staff pages for push: announcements and the health panel."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("push_staff", __name__)
