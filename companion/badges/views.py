"""Badge pages: "My badge" with its QR, what opening a badge URL shows (by who opens it), the
staff check-in desk (camera scanner, search by name, live count), and the staff attendee page
with "Reissue badge".

Each view parses its input, loads what it shows (404 if missing), checks access, calls one
service, commits once and renders. Badge tokens are secrets worn on a chest: a page never tells
someone who is not staff whether a token is valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, Length, NumberRange

from companion import timeutil
from companion.accounts.access import attendee_required, current_attendee, staff_required
from companion.accounts.forms import ConfirmForm
from companion.accounts.models import Attendee, User
from companion.badges import charts, queries, services
from companion.badges.qr import qr_svg
from companion.extensions import db, limiter
from companion.schedule.queries import conference_zone, get_conference
from companion.security import SCANNER_CSP, SCANNER_VENDOR_DIR
from companion.staff import links
from companion.urls import external_url

bp = Blueprint("badges", __name__)

links.register("Check-in", "badges.check_in_page", roles=("staff",),
               description="Scan badges at the door or find people by name; live count of who is in.")

SCAN_RATE_LIMIT = "120 per minute"


class CheckInForm(FlaskForm):
    """The "Check in" button of a search result: who, and the search to show again."""

    attendee_id = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
    q = HiddenField(validators=[Length(max=200)])


def _private(body: ResponseReturnValue, *, store: bool) -> Response:
    """Mark a per-person answer: never in a shared cache; with ``store=False`` in no cache at all.

    ``no-store`` also keeps the service worker from saving the page (static/sw.js honours it):
    staff pages name attendees and must not outlive the shift on a borrowed phone.
    """
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-cache" if store else "no-store"
    return response


def _zone() -> ZoneInfo:
    return conference_zone(get_conference())


def _staff_user() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _is_staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


# --- My badge ------------------------------------------------------------------------------


@bp.get("/me/badge")
@attendee_required
def my_badge() -> ResponseReturnValue:
    """The signed-in attendee's badge: a large QR, name, company, ticket, check-in state.

    Saved by the service worker on the attendee's phone, so it opens without a connection.
    """
    attendee = current_attendee()
    html = render_template("badges/my_badge.html", attendee=attendee, zone=_zone(),
                           qr_url=url_for("badges.my_badge_qr"))
    return _private(html, store=True)


@bp.get("/me/badge/qr.svg")
@attendee_required
def my_badge_qr() -> ResponseReturnValue:
    """The QR code of the signed-in attendee's badge URL, as SVG (revalidated by its ETag)."""
    attendee = current_attendee()
    assert attendee is not None  # attendee_required
    payload = external_url("badges.scan", token=attendee.badge_token)  # <PUBLIC_URL>/b/<token>
    response = _private(qr_svg(payload), store=True)
    response.mimetype = "image/svg+xml"
    # A hash of what the code carries, not the token itself: the tag changes exactly when the
    # badge is reissued (or PUBLIC_URL changes).
    response.set_etag(hashlib.sha256(payload.encode()).hexdigest()[:32])
    return response.make_conditional(request)


# --- Opening a badge URL -------------------------------------------------------------------


def _generic_page() -> Response:
    """The page for everyone who is not staff or booth: the same for valid and unknown tokens."""
    return _private(render_template("badges/generic.html"), store=False)


def _invalid_for_staff() -> Response:
    return _private((render_template("badges/invalid.html"), 404), store=False)


def _door_page(attendee: Attendee, result: services.CheckInResult | None = None) -> Response:
    html = render_template("badges/door.html", attendee=attendee, result=result, zone=_zone(), form=ConfirmForm())
    return _private(html, store=False)


@bp.get("/b/<token>")
@limiter.limit(SCAN_RATE_LIMIT)
def scan(token: str) -> ResponseReturnValue:
    """What a badge QR opens: the door's check-in for staff, the booth action for booth staff,
    and for anyone else only "a badge of <conference>" (for unknown tokens too: no oracle)."""
    staff = _is_staff()
    booth = current_user.is_authenticated and current_user.role == "booth"
    if not (staff or booth):
        return _generic_page()
    attendee = queries.attendee_by_badge_token(token)
    if attendee is None:
        return _invalid_for_staff() if staff else _generic_page()
    if staff:
        return _door_page(attendee)
    if _booth_page is not None:  # the hunt's page: the attendee and "Stamp" for the booth's own station
        return _booth_page(attendee)
    return _private(render_template("badges/booth.html", attendee=attendee, station=None,
                                    booth_code=current_user.booth_code), store=False)


# What booth staff see when they scan a badge. A feature that gives booths something to do (the
# hunt's stamp) registers its page here, so this module needs to know nothing of it.
_booth_page: Callable[[Attendee], ResponseReturnValue] | None = None


def register_booth_page(render: Callable[[Attendee], ResponseReturnValue]) -> None:
    """Show ``render(attendee)`` to booth staff who scan a badge (replacing the plain booth page)."""
    global _booth_page  # noqa: PLW0603 - one registration, at import time
    _booth_page = render


@bp.post("/b/<token>/check-in")
@limiter.limit(SCAN_RATE_LIMIT)
@staff_required
def scan_check_in(token: str) -> ResponseReturnValue:
    """The door page's "Check in" button. Checking in twice is harmless: the page says so."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the badge again.")
    attendee = queries.attendee_by_badge_token(token)
    if attendee is None:
        return _invalid_for_staff()
    result = services.check_in(attendee, staff=_staff_user(), now=timeutil.now())
    db.session.commit()
    return _door_page(attendee, result)


# --- The check-in desk ---------------------------------------------------------------------


def _check_in_page(query: str, result: services.CheckInResult | None = None,
                   checked: Attendee | None = None, status: int = 200) -> Response:
    zone = _zone()
    stats = queries.check_in_stats(now=timeutil.now(), zone=zone)
    html = render_template(
        "badges/check_in.html",
        q=query,
        results=queries.search_attendees(query),
        too_short=0 < len(query.strip()) < queries.SEARCH_MIN_LENGTH,
        result=result,
        checked=checked,
        stats=stats,
        chart_description=charts.chart_description(stats.hours),
        zone=zone,
        form=CheckInForm(formdata=None),
        vendor_dir=SCANNER_VENDOR_DIR,
    )
    response = _private((html, status), store=False)
    response.headers["Content-Security-Policy"] = SCANNER_CSP
    return response


@bp.get("/staff/check-in")
@staff_required
def check_in_page() -> ResponseReturnValue:
    """The door: the camera scanner, search by name (``?q=``, 2+ characters, 20 results), the count."""
    query = request.args.get("q", "")[:200]
    return _check_in_page(query)


@bp.post("/staff/check-in")
@staff_required
def check_in_from_search() -> ResponseReturnValue:
    """A search result's "Check in" button; the page shows the result and the same search again."""
    form = CheckInForm()
    if not form.validate_on_submit():
        abort(400, "The form expired or lost its attendee. Search again.")
    attendee = db.session.get(Attendee, form.attendee_id.data)
    if attendee is None:
        abort(404, "This attendee no longer exists. Search again.")
    result = services.check_in(attendee, staff=_staff_user(), now=timeutil.now())
    db.session.commit()
    return _check_in_page(form.q.data or "", result, attendee)


@bp.get("/staff/check-in/chart.svg")
@staff_required
def check_in_chart() -> ResponseReturnValue:
    """Today's check-ins per hour (conference time) as an SVG bar chart."""
    stats = queries.check_in_stats(now=timeutil.now(), zone=_zone())
    response = _private(charts.hourly_bar_chart(stats.hours), store=False)
    response.mimetype = "image/svg+xml"
    return response


# --- Staff: one attendee -------------------------------------------------------------------


@bp.get("/staff/attendees/<int:attendee_id>")
@staff_required
def attendee_detail(attendee_id: int) -> ResponseReturnValue:
    """An attendee for staff: contact, ticket, badge and check-in state, "Reissue badge"."""
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None:
        abort(404, "There is no attendee with this number.")
    html = render_template("badges/attendee.html", attendee=attendee, zone=_zone(), form=ConfirmForm(),
                           last_reissue=queries.last_badge_reissue(attendee),
                           check_in_form=CheckInForm(formdata=None), reissued=request.args.get("reissued") == "1")
    return _private(html, store=False)


@bp.post("/staff/attendees/<int:attendee_id>/reissue-badge")
@staff_required
def reissue_badge(attendee_id: int) -> ResponseReturnValue:
    """Replace a lost badge: a new token at once; the old badge opens "not valid" from now on."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the attendee's page again.")
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None:
        abort(404, "There is no attendee with this number.")
    services.reissue_badge(attendee, staff=_staff_user(), now=timeutil.now())
    db.session.commit()
    return redirect(url_for("badges.attendee_detail", attendee_id=attendee.id, reissued=1), code=303)
