"""The projector screen for the hall: ``/staff/raffles/<code>/screen`` and its JSON.

A full-screen page: the prize, the draw time and, once frozen, the number of entries and the
commitment; after the draw a short animation (none with prefers-reduced-motion) lands on each
winner's entry code and, if the raffle says so, first name and last initial. The page polls
``screen.json`` every two seconds (static/js/raffle-screen.js), so the desk's "Draw" shows on the
screen without anyone touching the projector. Staff only: it shows names.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template
from flask.typing import ResponseReturnValue

from companion.accounts.access import staff_required
from companion.raffle import queries
from companion.raffle.models import Raffle
from companion.schedule.queries import conference_zone, get_conference
from companion.sessions import not_stored

bp = Blueprint("raffle_screen", __name__, url_prefix="/staff/raffles")


def _raffle(code: str) -> Raffle:
    raffle = queries.by_code(code)
    if raffle is None:
        abort(404, "There is no raffle with this code.")
    return raffle


def screen_state(raffle: Raffle) -> dict[str, Any]:
    """What the screen shows: the raffle's state, entries, commitment, and the winners still holding
    a prize or claimed (in draw order), each with the name the raffle allows."""
    zone = conference_zone(get_conference())
    shown = [w for w in queries.winners(raffle) if w.status != "not_claimed"]
    return {
        "state": raffle.state,
        "title": raffle.title,
        "prize": raffle.prize,
        "draw_at": raffle.draw_at.astimezone(zone).strftime("%H:%M"),
        "entries": queries.entry_count(raffle) if raffle.frozen_at else None,
        "commitment": raffle.commitment,
        "claim_place": raffle.claim_place,
        "winners": [{"entry": w.entry, "k": w.k, "status": w.status, "name": queries.screen_name(w.name, raffle.screen_names),
                     "claim_by": w.claim_by.astimezone(zone).strftime("%H:%M")} for w in shown],
    }


@bp.get("/<code>/screen")
@staff_required
def screen(code: str) -> ResponseReturnValue:
    """The projector page (it renders the current state; the script keeps it current)."""
    raffle = _raffle(code)
    return not_stored(render_template("raffle/screen.html", raffle=raffle, state=screen_state(raffle)))


@bp.get("/<code>/screen.json")
@staff_required
def screen_json(code: str) -> ResponseReturnValue:
    """The screen's state as JSON, for its two-second poll."""
    return not_stored(jsonify(screen_state(_raffle(code))))
