"""The raffle's section of the hunt card: my entry code, and whether I won, where and until when."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import render_template

from companion.hunt import views as hunt_views
from companion.raffle import queries


def card_section(user_id: int, day: date, zone: ZoneInfo) -> str:
    """The day's raffles as the attendee sees them on their card ("" when the day has none)."""
    raffles = queries.raffles_on(day)
    if not raffles:
        return ""
    mine = {entry.raffle.id: entry for entry in queries.my_entries(user_id, day)}
    return render_template("raffle/_card.html", raffles=raffles, mine=mine, zone=zone)


hunt_views.register_card_section(card_section)
