"""Booth staff pages: the rotating code display, stamping a scanned badge, visitors.

A booth account works for the station whose code is its ``booth_code``. The display shows the
QR code of the station's current code (the URL of ``/h/<code>``): a rotating code changes every
30 seconds and static/js/booth-display.js fetches the new image at each window boundary; a fixed
code is printed once and the page says it is weaker. Badge scans: ``/b/<token>`` shows booth staff
a "Stamp for <station>" button (:func:`badge_page`), which posts to ``/b/<token>/stamp``.
Visitors: today's count, and names only of those who agreed to share them.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length

from companion import timeutil
from companion.accounts.access import role_required
from companion.accounts.models import Attendee, User
from companion.badges import views as badge_views
from companion.badges.views import SCAN_RATE_LIMIT
from companion.badges.qr import qr_svg
from companion.badges.queries import attendee_by_badge_token
from companion.extensions import db, limiter
from companion.hunt import codes, queries, services
from companion.downloads import csv_document, csv_download
from companion.hunt.models import Stamp, Station
from companion.schedule.days import conference_day
from companion.schedule.queries import conference_zone, get_conference
from companion.sessions import not_stored
from companion.staff import links
from companion.urls import external_url

bp = Blueprint("hunt_booth", __name__)

links.register("Booth display", "hunt_booth.display", roles=("booth",),
               description="Your booth's QR code for the scavenger hunt: put this page on the booth's screen.")
links.register("Booth visitors", "hunt_booth.visitors", roles=("booth",),
               description="Today's stamps at your booth, and the visitors who agreed to share their name.")

RELOAD_WINDOWS = 10  # the display reloads itself (and today's count) every 10 windows: 5 minutes


class BadgeStampForm(FlaskForm):
    """The booth page's "Stamp" button: for which station, and the attendee's consent to share."""

    station = HiddenField(validators=[DataRequired(), Length(max=32)])
    share_contact = BooleanField()


def _zone() -> ZoneInfo:
    return conference_zone(get_conference())


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def booth_station(user: User) -> Station | None:
    """The station ``user`` works for: the one whose code is their booth code (any case), or None."""
    code = (user.booth_code or "").strip().upper()
    if not code:
        return None
    return db.session.scalars(select(Station).where(Station.code == code)).first()


def code_url(code: str) -> str:
    """The absolute URL a booth QR carries: the attendee page ``/h/<code>`` that stamps with it."""
    return external_url("hunt.collect", code=code)


def current_code(station: Station, now: datetime) -> str:
    """What ``station``'s QR says at ``now``: this window's rotating code, or the printed fixed code."""
    if station.mode == "fixed":
        return codes.fixed_code(station.code, station.fixed_code or "")
    return codes.rotating_code(station.code, station.secret, codes.window_of(now))


def _no_station_page() -> Response:
    html = render_template("hunt/booth_no_station.html", booth_code=current_user.booth_code)
    return not_stored((html, 404))


def _station() -> Station:
    """The signed-in booth account's station; else the page saying there is none (404)."""
    station = booth_station(_me())
    if station is None:
        abort(_no_station_page())
    return station


# --- the display ----------------------------------------------------------------------------


@bp.get("/booth")
@role_required("booth")
def display() -> ResponseReturnValue:
    """The booth's screen: the QR code, the station's name, today's stamp count, a link to visitors."""
    station = _station()
    now, zone = timeutil.now(), _zone()
    day = conference_day(now, zone)
    count, _ = queries.booth_visitors(station, day)
    html = render_template("hunt/booth_display.html", station=station, count=count,
                           active=day in station.active_days, seconds_left=round(codes.seconds_left(now), 3),
                           window_seconds=codes.WINDOW_SECONDS, reload_windows=RELOAD_WINDOWS,
                           qr_url=url_for(".display_qr"),
                           code=current_code(station, now) if station.mode == "fixed" else None)
    return not_stored(html)


@bp.get("/booth/qr.svg")
@role_required("booth")
def display_qr() -> ResponseReturnValue:
    """The QR code the booth shows now, as SVG: a rotating code's changes every 30 seconds."""
    station = _station()
    response = not_stored(qr_svg(code_url(current_code(station, timeutil.now()))))
    response.mimetype = "image/svg+xml"
    return response


# --- visitors -------------------------------------------------------------------------------


def _visitors_day(station: Station, today: date) -> date:
    """The day asked for (``?day=YYYY-MM-DD``, one of the station's days or today), else today."""
    text = request.args.get("day", "")
    try:
        asked = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        asked = None
    if asked is None:
        if text:
            abort(404, "There is no such day for your booth. Choose one of the days listed on the visitors page.")
        return today
    if asked != today and asked not in station.active_days:
        abort(404, "There is no such day for your booth. Choose one of the days listed on the visitors page.")
    return asked


@bp.get("/booth/visitors")
@role_required("booth")
def visitors() -> ResponseReturnValue:
    """The day's stamps at the booth: how many, and the names of those who agreed to share them."""
    station = _station()
    zone = _zone()
    today = conference_day(timeutil.now(), zone)
    day = _visitors_day(station, today)
    count, shared = queries.booth_visitors(station, day)
    days = sorted({*station.active_days, today})
    html = render_template("hunt/booth_visitors.html", station=station, count=count, visitors=shared, day=day,
                           today=today, days=days, zone=zone)
    return not_stored(html)


@bp.get("/booth/visitors.csv")
@role_required("booth")
def visitors_csv() -> ResponseReturnValue:
    """The day's leads as CSV: only the visitors who agreed to share their name and company."""
    station = _station()
    zone = _zone()
    day = _visitors_day(station, conference_day(timeutil.now(), zone))
    _, shared = queries.booth_visitors(station, day)
    body = csv_document((f"Stamped at ({zone.key})", "Name", "Company"),
                        ((f"{v.stamped_at.astimezone(zone):%Y-%m-%d %H:%M}", v.name, v.company) for v in shared))
    return csv_download(body, f"visitors-{station.code}-{day.isoformat()}.csv")


# --- a scanned badge ------------------------------------------------------------------------


def _stamped_at(attendee: Attendee, station: Station, day: date) -> datetime | None:
    return db.session.scalar(select(Stamp.stamped_at).where(
        Stamp.user_id == attendee.user_id, Stamp.station_id == station.id, Stamp.day == day))


def badge_page(attendee: Attendee, *, result: services.StampResult | None = None, error: str | None = None,
               shared: bool = False, status: int = 200) -> Response:
    """What a badge QR opens for booth staff: the attendee (named only with consent) and the
    "Stamp for <station>" button of their own station, if it is in today's hunt.

    :param result: the stamp just made (or found), to say "Stamped." or "Already stamped at 11:42."
    :param error: why nothing was stamped.
    :param shared: the stamp was made with the attendee's consent to share.
    """
    station = booth_station(_me())
    zone = _zone()
    day = conference_day(timeutil.now(), zone)
    active = station is not None and day in station.active_days
    html = render_template(
        "badges/booth.html", attendee=attendee, station=station, active=active, result=result, error=error,
        shared=shared, zone=zone, booth_code=current_user.booth_code,
        stamped_at=_stamped_at(attendee, station, day) if active and result is None else None,
        form=BadgeStampForm(formdata=None, station=station.code if station else "",
                            share_contact=attendee.consent_share_contact))
    return not_stored((html, status))


badge_views.register_booth_page(badge_page)


@bp.post("/b/<token>/stamp")
@limiter.limit(SCAN_RATE_LIMIT)
@role_required("booth")
def stamp_badge(token: str) -> ResponseReturnValue:
    """The booth page's "Stamp" button: one stamp per attendee, station and day, for the booth's own station.

    Refused with nothing changed: an unknown or replaced badge (404), a booth account without a
    station or a station that is not the account's (403), a station not in today's hunt (409).
    """
    form = BadgeStampForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Scan the badge again.")
    attendee = attendee_by_badge_token(token)
    if attendee is None:
        html = render_template("hunt/booth_badge_invalid.html")
        return not_stored((html, 404))
    station = booth_station(_me())
    if station is None:
        return badge_page(attendee, status=403, error=(
            f"Nothing was stamped: your booth account (booth code {current_user.booth_code or 'none'}) is not "
            "linked to a station of the scavenger hunt. Ask the organisers to check your booth code."))
    if form.station.data != station.code:
        return badge_page(attendee, status=403, error=(
            f"Nothing was stamped: you can stamp only for your own booth, {station.name}."))
    now, zone = timeutil.now(), _zone()
    try:
        result = services.record_stamp(attendee.user, station, now=now, zone=zone, method="badge", by=_me(),
                                       share_contact=bool(form.share_contact.data))
    except services.HuntError as exc:
        db.session.rollback()
        return badge_page(attendee, status=409, error=f"Nothing was stamped: {exc}")
    db.session.commit()
    return badge_page(attendee, result=result, shared=bool(form.share_contact.data))
