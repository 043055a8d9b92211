"""Attendee hunt pages: the card, the scanner, a booth code's landing page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hunt", __name__)
