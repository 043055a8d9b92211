"""Attendee hunt pages: the card, the scanner, a booth code's landing page.

- ``/hunt``: my card for today (the day's stations, stamped or not, progress, the raffle line).
- ``/hunt/scan``: the camera scanner (static/js/hunt-scan.js posts each code to the JSON API);
  its "type the code" form also works without JavaScript (``POST /hunt/scan``).
- ``/h/<code>``: what the booth's QR opens in the phone's own camera app. GET only asks
  ("Collect your stamp at Acme AI?"): link previews and prefetchers must not stamp anybody.
  The button POSTs; the code is checked again then.

Each view parses its input, checks access, calls the hunt services, commits once and renders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template
from markupsafe import Markup
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from companion import timeutil
from companion.accounts.access import attendee_required, current_attendee
from companion.accounts.forms import strip_whitespace
from companion.accounts.models import User
from companion.extensions import db, limiter
from companion.hunt import queries, services
from companion.hunt.limits import person_key, stamp_rate_limit
from companion.hunt.codes import code_from_scan
from companion.hunt.services import stamp_message
from companion.schedule import queries as schedule_queries
from companion.schedule.days import conference_day
from companion.security import SCANNER_CSP, SCANNER_VENDOR_DIR

bp = Blueprint("hunt", __name__)

SHARE_LABEL = "Let this booth see my name and company"
# Opening a booth code's page checks the code: generous for people, a wall for guessing scripts.
OPEN_RATE_LIMIT = "60 per minute"


class CollectForm(FlaskForm):
    """The "Collect stamp" button of a booth code's page, with the attendee's consent."""

    share_contact = BooleanField(SHARE_LABEL)


class TypedCodeForm(FlaskForm):
    """The scanner page's "type the code" form (for phones whose camera is off limits)."""

    code = StringField("Booth code", filters=[strip_whitespace], validators=[DataRequired(), Length(max=300)])
    share_contact = BooleanField(SHARE_LABEL)


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _zone() -> ZoneInfo:
    return schedule_queries.conference_zone(schedule_queries.get_conference())


def _today(zone: ZoneInfo) -> date:
    return conference_day(timeutil.now(), zone)


def _private(body: ResponseReturnValue, *, store: bool, scanner: bool = False) -> Response:
    """A page for one person: never in a shared cache; with ``store=False`` in no cache at all.

    A booth code's page and the scanner's answers are of the moment: not worth keeping offline.
    """
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-cache" if store else "no-store"
    if scanner:  # the vendored QR decoder compiles WebAssembly
        response.headers["Content-Security-Policy"] = SCANNER_CSP
    return response


def _consent_default() -> bool:
    attendee = current_attendee()
    return bool(attendee and attendee.consent_share_contact)


def rule_text(card: queries.Card) -> str:
    """What completes the day: "5 stamps, including PyTorch Foundation and Acme AI" (or "all 3 stamps")."""
    count = card.needed
    if count == len(card.stations) and count > 1:  # every station: the required ones go without saying
        return "both stamps" if count == 2 else f"all {count} stamps"
    what = f"{count} {'stamp' if count == 1 else 'stamps'}"
    required = [entry.station.name for entry in card.stations if entry.station.required]
    if required:
        names = required[0] if len(required) == 1 else ", ".join(required[:-1]) + " and " + required[-1]
        what += f", including {names}"
    return what


def progress_text(card: queries.Card) -> str:
    """"3 of 5 stamps" (or "6 stamps, 5 needed" past the goal)."""
    if card.stamped > card.needed:
        return f"{card.stamped} stamps, {card.needed} needed"
    return f"{card.stamped} of {card.needed} {'stamp' if card.needed == 1 else 'stamps'}"


@bp.app_template_global("hunt_progress")
def hunt_progress(card: queries.Card) -> dict[str, object]:
    """What the progress partial shows: bar, text, rule, completion, required stamps still missing."""
    return {"value": min(card.stamped, card.needed), "max": card.needed, "text": progress_text(card),
            "rule": rule_text(card), "complete": card.complete,
            "missing_required": [station.name for station in card.missing_required]}


# --- My card ---------------------------------------------------------------------------------

# Sections other features add below the card (the raffle's "your entry: 7QK2-M9"), so the hunt
# does not import them: render(user_id, day, zone) -> HTML, or "" for nothing.
_card_sections: list[Callable[[int, date, ZoneInfo], str]] = []


def register_card_section(render: Callable[[int, date, ZoneInfo], str]) -> None:
    """Show ``render(user_id, day, zone)`` (HTML) on the hunt card, below the stations."""
    _card_sections.append(render)


@bp.get("/hunt")
@attendee_required
def card() -> ResponseReturnValue:
    """My hunt card for today: the day's stations, which are stamped (and when), progress, raffle."""
    zone = _zone()
    day = _today(zone)
    my_card = queries.card(_me().id, day)
    other_days = [d for d in queries.hunt_days() if d != day] if not my_card.stations else []
    sections = [section(_me().id, day, zone) for section in _card_sections]
    html = render_template("hunt/card.html", card=my_card, zone=zone, other_days=other_days,
                           sections=[Markup(s) for s in sections if s])
    return _private(html, store=True)


# --- The scanner -----------------------------------------------------------------------------


def _scan_page(form: TypedCodeForm, result: services.StampResult | None = None, error: str | None = None,
               status: int = 200) -> Response:
    zone = _zone()
    my_card = queries.card(_me().id, result.day if result else _today(zone))
    html = render_template("hunt/scan.html", form=form, card=my_card, zone=zone, vendor_dir=SCANNER_VENDOR_DIR,
                           result=result, message=stamp_message(result, zone) if result else None, error=error)
    return _private((html, status), store=False, scanner=True)


@bp.get("/hunt/scan")
@attendee_required
def scan() -> ResponseReturnValue:
    """The scanner: the camera reads a booth's QR; a field takes a typed or pasted code."""
    form = TypedCodeForm(formdata=None, share_contact=_consent_default())
    return _scan_page(form)


@bp.post("/hunt/scan")
@attendee_required
@stamp_rate_limit
def scan_typed() -> ResponseReturnValue:
    """The typed code (the scanner page without JavaScript): stamps like a scan, shows the answer."""
    form = TypedCodeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, "The form expired. Open the scanner again.")
        return _scan_page(form, error="Type the code shown under the booth's QR code.", status=422)
    now, zone = timeutil.now(), _zone()
    try:
        station = services.station_for_code(code_from_scan(form.code.data or ""), now=now, zone=zone)
        result = services.record_stamp(_me(), station, now=now, zone=zone, method="code",
                                       share_contact=bool(form.share_contact.data))
    except services.HuntError as exc:
        db.session.rollback()
        return _scan_page(form, error=str(exc), status=422)
    # Rendered before the commit, which would expire what the page shows (more queries for nothing).
    page = _scan_page(TypedCodeForm(formdata=None, share_contact=form.share_contact.data), result=result)
    db.session.commit()
    return page


# --- What a booth's QR opens -----------------------------------------------------------------


def _collect_page(code: str, *, station=None, form: CollectForm | None = None,  # noqa: ANN001 - Station
                  result: services.StampResult | None = None, error: services.HuntError | None = None) -> Response:
    zone = _zone()
    day = result.day if result else _today(zone)
    my_card = queries.card(_me().id, day)
    stamped_at = None
    if station is not None and result is None:  # opened again after collecting it: say when, no button
        stamped_at = next((e.stamped_at for e in my_card.stations if e.station.id == station.id), None)
    shown = result or (services.StampResult(station, day, False, stamped_at) if stamped_at else None)
    html = render_template("hunt/collect.html", code=code, station=station, form=form, result=result,
                           message=stamp_message(shown, zone) if shown else None, error=error,
                           stamped_at=stamped_at, card=my_card, zone=zone)
    return _private((html, 422 if error else 200), store=False)


@bp.get("/h/<code>")
@attendee_required
@limiter.limit(OPEN_RATE_LIMIT, key_func=person_key)
def collect(code: str) -> ResponseReturnValue:
    """A booth code's page: "Collect your stamp at Acme AI?" (changes nothing; the button does).

    An expired, malformed or foreign code shows what is wrong (422) and offers the scanner;
    a stamp already collected today shows its time instead of the button.
    """
    try:
        station = services.station_for_code(code, now=timeutil.now(), zone=_zone())
    except services.HuntError as exc:
        return _collect_page(code, error=exc)
    return _collect_page(code, station=station, form=CollectForm(formdata=None, share_contact=_consent_default()))


@bp.post("/h/<code>")
@attendee_required
@stamp_rate_limit
def collect_stamp(code: str) -> ResponseReturnValue:
    """The "Collect stamp" button: the code is checked again now, then the stamp is recorded once."""
    form = CollectForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Scan the booth's code again.")
    now, zone = timeutil.now(), _zone()
    try:
        station = services.station_for_code(code, now=now, zone=zone)
        result = services.record_stamp(_me(), station, now=now, zone=zone, method="code",
                                       share_contact=bool(form.share_contact.data))
    except services.HuntError as exc:
        db.session.rollback()
        return _collect_page(code, error=exc)
    page = _collect_page(code, station=station, result=result)  # before the commit, as above
    db.session.commit()
    return page
