"""``companion schedule ...`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

schedule_cli = AppGroup("schedule", help="Import and export the schedule.")
