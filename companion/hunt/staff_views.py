"""Staff hunt pages: stations, the completion rule, counts, completers.

``/staff/hunt`` lists the stations (a fixed code is marked weaker), their booth accounts, the
rule and completions per day. Stations are added and edited with a form; switching a station's
code between rotating and fixed is its own button with a confirmation step, because it changes
what the booth must show. A CSV of stations is checked before anything is written and imported
whole or not at all. A day's page has stamps per station per hour and its completers in the order
they completed (the raffle draws from them), also as CSV. Every change is audited.
"""

from __future__ import annotations

import random
import re
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from companion import timeutil
from companion.accounts.access import staff_required
from companion.accounts.forms import strip_whitespace
from companion.accounts.models import User
from companion.accounts.services import record
from companion.badges.qr import qr_svg
from companion.downloads import csv_document, csv_download
from companion.extensions import db
from companion.hunt import charts, codes, importing, queries, services
from companion.hunt.booth_views import code_url
from companion.hunt.models import Station
from companion.schedule.queries import conference_zone, get_conference
from companion.sessions import not_stored
from companion.staff import links

bp = Blueprint("hunt_staff", __name__, url_prefix="/staff/hunt")

links.register("Scavenger hunt", "hunt_staff.overview", roles=("staff",),
               description="Stations and their booth accounts, the completion rule, completions per day, "
                           "stamps per hour and each day's completers for the raffle.")

MODE_LABELS = {"rotating": "Rotating code on a screen (changes every 30 seconds)",
               "fixed": "Fixed printed code (weaker: a photo of the printed code works for anyone)"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _one_newline(value: str | None) -> str | None:
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


class StationForm(FlaskForm):
    """A station's fields. The service checks them; the form carries them and the CSRF token."""

    name = StringField("Name (the sponsor or place, as attendees see it)", filters=[strip_whitespace])
    location = StringField("Location (optional)", filters=[strip_whitespace])
    description = TextAreaField("Description (optional)", filters=[strip_whitespace, _one_newline])
    days = SelectMultipleField("Days in the hunt", validate_choice=False)
    required = BooleanField("Required: a card is complete only with this stamp")
    mode = RadioField("Code", choices=[SelectChoice(value, label) for value, label in MODE_LABELS.items()],
                      default="rotating", validate_choice=False)


class RuleForm(FlaskForm):
    stamps_needed = IntegerField("Stamps that complete a day's card", validators=[Optional()])


class GraceForm(FlaskForm):
    offline_grace_minutes = IntegerField("Minutes a code scanned offline still counts after it changed",
                                         validators=[Optional()])


class ModeForm(FlaskForm):
    mode = HiddenField()
    confirm = HiddenField()


def _zone() -> ZoneInfo:
    return conference_zone(get_conference())


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _station(code: str) -> Station:
    station = db.session.scalars(select(Station).where(Station.code == code)).first()
    if station is None:
        abort(404, "There is no station with this code. Open it from the scavenger hunt page.")
    return station


def conference_days() -> list[date]:
    """The conference's days (the choices for a station's days)."""
    return importing.conference_days(get_conference())


# --- the overview ---------------------------------------------------------------------------


def _unlinked_booth_accounts() -> list[User]:
    """Booth accounts whose booth code is no station's: they can neither show a code nor stamp."""
    codes_there = select(Station.code)
    return list(db.session.scalars(select(User).where(User.role == "booth",
                                                      func.upper(func.trim(func.coalesce(User.booth_code, ""))).not_in(codes_there))
                                   .order_by(User.email)))


def _overview(rule_form: RuleForm | None = None, error: str | None = None, status: int = 200,
              grace_form: GraceForm | None = None) -> Response:
    stations = list(db.session.scalars(select(Station).order_by(Station.position, Station.name)))
    per_day = queries.completions_per_day()
    days = sorted({*queries.hunt_days(), *conference_days()})
    rule = services.rule()
    html = render_template(
        "hunt/staff_overview.html", stations=stations, staff={s.id: queries.booth_staff(s) for s in stations},
        unlinked=_unlinked_booth_accounts(), rule=rule, per_day=per_day, days=days,
        chart=charts.data_uri(charts.completions_chart(per_day)),
        chart_description=charts.completions_description(per_day), chart_width=charts.WIDTH,
        chart_height=charts.BARS_HEIGHT,
        rule_form=rule_form or RuleForm(formdata=None, stamps_needed=rule.stamps_needed),
        grace_form=grace_form or GraceForm(formdata=None, offline_grace_minutes=rule.offline_grace_minutes),
        error=error, mode_labels=MODE_LABELS, conference_days=conference_days())
    return not_stored((html, status))


@bp.get("")
@staff_required
def overview() -> ResponseReturnValue:
    """Stations, their booth accounts, the completion rule, completions per day, links to each day."""
    return _overview()


@bp.post("/rule")
@staff_required
def set_rule() -> ResponseReturnValue:
    """Change how many stamps complete a day's card (audited)."""
    form = RuleForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, "The form expired. Open the scavenger hunt page again.")
        return _overview(form, "Write the number of stamps as a whole number, from 1 to 1000.", 400)
    now = timeutil.now()
    old = services.rule().stamps_needed
    try:
        services.set_stamps_needed(form.stamps_needed.data if form.stamps_needed.data is not None else 0, now=now)
    except services.HuntError as exc:
        db.session.rollback()
        return _overview(form, str(exc), 400)
    record(_me(), "hunt.rule", None, now=now, old=old, new=form.stamps_needed.data)
    db.session.commit()
    flash(f"A day's card is complete with {form.stamps_needed.data} stamps now (or all the day's stations, "
          "if it has fewer), every required station among them.")
    return redirect(url_for(".overview"), 303)


@bp.post("/offline-grace")
@staff_required
def set_offline_grace() -> ResponseReturnValue:
    """Change how long a rotating code scanned offline still counts after it changed (audited)."""
    form = GraceForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400, "The form expired. Open the scavenger hunt page again.")
        return _overview(error="Write the grace as a whole number of minutes, from 0 to "
                               f"{services.MAX_OFFLINE_GRACE_MINUTES}.", status=400, grace_form=form)
    minutes = form.offline_grace_minutes.data if form.offline_grace_minutes.data is not None else -1
    now = timeutil.now()
    old = services.rule().offline_grace_minutes
    try:
        services.set_offline_grace(minutes, now=now)
    except services.HuntError as exc:
        db.session.rollback()
        return _overview(error=str(exc), status=400, grace_form=form)
    record(_me(), "hunt.offline_grace", None, now=now, old=old, new=minutes)
    db.session.commit()
    flash(f"Codes scanned offline now count for {minutes} minutes after they change." if minutes
          else "Codes scanned offline no longer count once they have changed.")
    return redirect(url_for(".overview"), 303)


# --- adding and editing a station -----------------------------------------------------------


def _form_days(form: StationForm, choices: list[date]) -> list[date]:
    """The days ticked on the form.

    :raise services.HuntError: a day that is not one of ``choices`` (a forged form).
    """
    picked = []
    for text in form.days.data or []:
        try:
            day = date.fromisoformat(text) if _DAY.fullmatch(text) else None
        except ValueError:
            day = None
        if day is None or day not in choices:
            raise services.HuntError("days", "Choose days of the conference only.", loc="days")
        picked.append(day)
    return picked


def _station_page(form: StationForm, *, station: Station | None, choices: list[date],
                  error: services.HuntError | None = None, status: int = 200) -> Response:
    html = render_template(
        "hunt/staff_station.html", form=form, station=station, choices=choices,
        ticked={text for text in form.days.data or []}, errors={error.loc: str(error)} if error else {},
        mode_labels=MODE_LABELS, staff=queries.booth_staff(station) if station else [],
        mode_form=ModeForm(formdata=None), name_max=services.NAME_MAX, location_max=services.LOCATION_MAX,
        description_max=services.DESCRIPTION_MAX)
    return not_stored((html, status))


def _checked_form(form: StationForm) -> None:
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the scavenger hunt page again.")


@bp.get("/stations/new")
@staff_required
def new_station() -> ResponseReturnValue:
    """The form for a new station: every conference day ticked."""
    choices = conference_days()
    form = StationForm(formdata=None, days=[d.isoformat() for d in choices])
    return _station_page(form, station=None, choices=choices)


@bp.post("/stations/new")
@staff_required
def add_station() -> ResponseReturnValue:
    """Add a station with a new random code (audited); the form again with 400 if refused."""
    form = StationForm()
    _checked_form(form)
    choices, now = conference_days(), timeutil.now()
    try:
        station = services.add_station(form.name.data or "", days=_form_days(form, choices),
                                       location=form.location.data, description=form.description.data,
                                       required=bool(form.required.data), mode=form.mode.data or "rotating",
                                       now=now, rng=random.SystemRandom())
    except services.HuntError as exc:
        db.session.rollback()
        return _station_page(form, station=None, choices=choices, error=exc, status=400)
    record(_me(), "hunt.station.add", station.code, now=now, name=station.name, location=station.location,
           days=[d.isoformat() for d in station.active_days], required=station.required, mode=station.mode)
    db.session.commit()
    flash(f"{station.name} is in the hunt with the code {station.code}. Give its booth accounts the booth code "
          f"{station.code}.")
    return redirect(url_for(".overview"), 303)


def _details(station: Station) -> dict[str, object]:
    return {"name": station.name, "location": station.location, "description": station.description,
            "days": [d.isoformat() for d in station.active_days], "required": station.required}


@bp.get("/stations/<code>")
@staff_required
def edit_station(code: str) -> ResponseReturnValue:
    """A station's form, its code and booth accounts, and the button that switches its mode."""
    station = _station(code)
    choices = sorted({*conference_days(), *station.active_days})
    form = StationForm(formdata=None, name=station.name, location=station.location, description=station.description,
                       required=station.required, mode=station.mode, days=[d.isoformat() for d in station.active_days])
    return _station_page(form, station=station, choices=choices)


@bp.post("/stations/<code>")
@staff_required
def update_station(code: str) -> ResponseReturnValue:
    """Save a station's details and days (audited: what changed, before and after)."""
    station = _station(code)
    form = StationForm()
    _checked_form(form)
    choices, now = sorted({*conference_days(), *station.active_days}), timeutil.now()
    before = _details(station)
    try:
        services.update_station(station, name=form.name.data or "", days=_form_days(form, choices),
                                location=form.location.data, description=form.description.data,
                                required=bool(form.required.data), now=now)
    except services.HuntError as exc:
        db.session.rollback()
        return _station_page(form, station=_station(code), choices=choices, error=exc, status=400)
    after = _details(station)
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        record(_me(), "hunt.station.update", station.code, now=now, changes=changes)
    db.session.commit()
    flash(f"{station.name}: saved." if changes else f"{station.name}: nothing changed.")
    return redirect(url_for(".overview"), 303)


@bp.post("/stations/<code>/mode")
@staff_required
def switch_mode(code: str) -> ResponseReturnValue:
    """Switch between a rotating and a fixed code: first a confirmation page, then (``confirm=1``)
    the switch, audited. Switching to fixed makes a new printed code; back to rotating retires it."""
    station = _station(code)
    form = ModeForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the station again.")
    mode = form.mode.data
    if mode not in MODE_LABELS:
        abort(400, "Choose rotating or fixed.")
    if mode == station.mode:
        flash(f"{station.name} has a {mode} code already: nothing changed.")
        return redirect(url_for(".edit_station", code=station.code), 303)
    if form.confirm.data != "1":
        html = render_template("hunt/staff_mode_confirm.html", station=station, mode=mode, mode_labels=MODE_LABELS,
                               form=ModeForm(formdata=None, mode=mode, confirm="1"))
        return not_stored(html)
    now, old = timeutil.now(), station.mode
    services.set_mode(station, mode, now=now)
    record(_me(), "hunt.station.mode", station.code, now=now, old=old, new=mode)
    db.session.commit()
    if mode == "fixed":
        flash(f"{station.name} has a fixed printed code now: print it from its page. Anyone with a photo of it can stamp.")
    else:
        flash(f"{station.name} has a rotating code now: its booth must show the booth display on a screen. "
              "Printed codes of it no longer work.")
    return redirect(url_for(".edit_station", code=station.code), 303)


@bp.get("/stations/<code>/print")
@staff_required
def print_code(code: str) -> ResponseReturnValue:
    """A fixed station's code as a large QR to print (a rotating station has nothing to print: 409)."""
    station = _station(code)
    if station.mode != "fixed":
        abort(409, f"{station.name} has a rotating code: it is shown on the booth's screen, not printed.")
    html = render_template("hunt/staff_print.html", station=station,
                           code=codes.fixed_code(station.code, station.fixed_code or ""))
    return not_stored(html)


@bp.get("/stations/<code>/qr.svg")
@staff_required
def print_qr(code: str) -> ResponseReturnValue:
    """The QR code of a fixed station's printed code, as SVG."""
    station = _station(code)
    if station.mode != "fixed":
        abort(409, f"{station.name} has a rotating code: it is shown on the booth's screen, not printed.")
    response = not_stored(qr_svg(code_url(codes.fixed_code(station.code, station.fixed_code or ""))))
    response.mimetype = "image/svg+xml"
    return response


# --- a day ----------------------------------------------------------------------------------


def _day(text: str) -> date:
    """The day of a URL (``2026-04-07``); 404 for anything else."""
    try:
        if _DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    abort(404, "There is no such day: write it as 2026-04-07.")


@bp.get("/days/<day>")
@staff_required
def day_page(day: str) -> ResponseReturnValue:
    """A day: stamps per station per hour (chart and table), completions, the completers in order."""
    the_day, zone = _day(day), _zone()
    per_station = queries.stamps_per_station_hour(the_day, zone)
    completers = queries.completers(the_day)
    html = render_template(
        "hunt/staff_day.html", day=the_day, zone=zone, per_station=per_station,
        hours=charts.hours_with_stamps(per_station), completers=completers,
        stamps=sum(sum(c.values()) for c in per_station.values()),
        chart=charts.data_uri(charts.station_hours_chart(per_station)),
        chart_description=charts.station_hours_description(per_station),
        chart_height=charts.station_hours_height(per_station), chart_width=charts.WIDTH,
        needed=queries.needed_on(len(queries.day_stations(the_day))))
    return not_stored(html)


@bp.get("/days/<day>/completers.csv")
@staff_required
def completers_csv(day: str) -> ResponseReturnValue:
    """The day's completers in the order they completed, as CSV (what the raffle draws from)."""
    the_day, zone = _day(day), _zone()
    rows = ((n, c.name, c.company, c.email, f"{c.completed_at.astimezone(zone):%Y-%m-%d %H:%M:%S}")
            for n, c in enumerate(queries.completers(the_day), start=1))
    body = csv_document(("Position", "Name", "Company", "Email", f"Completed at ({zone.key})"), rows)
    return csv_download(body, f"hunt-completers-{the_day.isoformat()}.csv")
