"""Booth staff pages: the rotating code display, stamping a scanned badge, visitors."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hunt_booth", __name__)
