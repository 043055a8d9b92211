"""Public raffle pages: what anyone may see and check.

``/raffles`` lists the raffles; ``/raffles/<code>`` shows one: prize, draw time, who may enter, and
from the freeze the sorted entry codes, the list hash and the commitment; after the draw the seed
and the winners' entry codes (never names), with how to check the draw. Nothing here is personal:
an attendee finds their own entry code on their hunt card.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from companion.raffle import queries
from companion.schedule.queries import conference_zone, get_conference

bp = Blueprint("raffle", __name__, url_prefix="/raffles")

# Beyond this many entries the page links to the proof instead of listing them (a phone should not
# download a megabyte of codes to see who won).
ENTRIES_ON_PAGE = 2000


@bp.get("")
def index() -> ResponseReturnValue:
    """Every raffle, by draw time, with where it stands."""
    return render_template("raffle/index.html", raffles=queries.all_raffles(),
                           zone=conference_zone(get_conference()))


@bp.get("/<code>")
def page(code: str) -> ResponseReturnValue:
    """One raffle's public page: the published entries and hashes, then the seed and the winners."""
    raffle = queries.by_code(code)
    if raffle is None:
        abort(404, "There is no raffle with this code.")
    return render_template("raffle/page.html", raffle=raffle, proof=queries.proof(raffle), list_shown=ENTRIES_ON_PAGE,
                           winners=queries.winners(raffle), zone=conference_zone(get_conference()),
                           eligibility=queries.ELIGIBILITY_LABELS[raffle.eligibility])
