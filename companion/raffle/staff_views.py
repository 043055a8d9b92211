"""The staff raffle desk: create and edit raffles, upload a list, freeze, draw, claimed or not, redraw.

``/staff/raffles`` lists the raffles by day with a form for a new one (15:45 and 30 minutes to
claim by default). A raffle's desk shows where it stands and the one next step: freeze (publish the
entries and the commitment), draw (reveal the seed; a pool smaller than the prizes asks for a
confirmation first), then each winner marked claimed, or not claimed once their window ended, and
a redraw for any prize left without a winner. Every step goes through the services' conditional
updates, so two people pressing "Draw" at once make one draw; the second is told what happened.
The audit log of every raffle action is a page and a CSV.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, time
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from companion import timeutil
from companion.accounts import audit
from companion.accounts.access import staff_required
from companion.accounts.forms import strip_whitespace
from companion.accounts.models import User
from companion.downloads import csv_document, csv_download
from companion.extensions import db
from companion.hunt.importing import conference_days
from companion.raffle import queries, services
from companion.raffle.models import Raffle, RaffleWinner
from companion.schedule.queries import conference_zone, get_conference
from companion.sessions import not_stored
from companion.staff import links

bp = Blueprint("raffle_staff", __name__, url_prefix="/staff/raffles")

links.register("Raffles", "raffle_staff.overview", roles=("staff",),
               description="Create the daily raffles, freeze the entries, draw on the projector screen, "
                           "mark prizes claimed, redraw, and the audit log.")

SCREEN_LABELS = {"first_initial": "Entry code and first name with last initial (Ada L.)",
                 "entry_only": "Entry code only"}
LIST_UPLOAD_MAX = 2 * 1024 * 1024


class RaffleForm(FlaskForm):
    """A raffle's fields; the service checks them, the form carries them and the CSRF token."""

    title = StringField("Title", filters=[strip_whitespace])
    prize = StringField("Prize", filters=[strip_whitespace])
    day = SelectField("Day", validate_choice=False)
    draw_time = StringField("Draw time (conference time)", default="15:45", filters=[strip_whitespace])
    claim_place = StringField("Where winners claim the prize", default="the raffle desk in the expo hall",
                              filters=[strip_whitespace])
    winners_wanted = IntegerField("Winners", default=1, validators=[Optional()])
    eligibility = SelectField("Who may enter", choices=[SelectChoice(v, label) for v, label in queries.ELIGIBILITY_LABELS.items()], default="hunt",
                              validate_choice=False)
    exclude_past_winners = BooleanField("Exclude earlier winners of any raffle", default=True)
    claim_minutes = IntegerField("Minutes to claim the prize", default=services.DEFAULT_CLAIM_MINUTES,
                                 validators=[Optional()])
    screen_names = SelectField("The projector shows", choices=[SelectChoice(v, label) for v, label in SCREEN_LABELS.items()], default="first_initial",
                               validate_choice=False)


class ListForm(FlaskForm):
    """The uploaded list: a file or pasted lines of email addresses or registration ids."""

    file = FileField("A file (.txt or .csv, one email address or registration id per line)")
    lines = TextAreaField("Or paste them here")


class StepForm(FlaskForm):
    """A desk button (freeze, draw, redraw, claimed, not claimed): the CSRF token and a confirmation."""

    confirm = HiddenField()
    status = HiddenField()


def _zone() -> ZoneInfo:
    return conference_zone(get_conference())


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _raffle(code: str) -> Raffle:
    raffle = queries.by_code(code)
    if raffle is None:
        abort(404, "There is no raffle with this code. Open it from the raffles page.")
    return raffle


def _card_url() -> str:
    return url_for("hunt.card")


def _fields(form: RaffleForm, days: list[date]) -> services.RaffleFields:
    """The form's values as service fields; a malformed day or time is a RaffleError naming the field."""
    try:
        day = date.fromisoformat(form.day.data or "")
    except ValueError:
        raise services.RaffleError("field", "Choose one of the conference's days.", loc="day") from None
    if days and day not in days:
        raise services.RaffleError("field", "Choose one of the conference's days.", loc="day")
    try:
        draw_time = time.fromisoformat(form.draw_time.data or "")
    except ValueError:
        raise services.RaffleError("field", "Write the draw time as HH:MM, for instance 15:45.", loc="draw_time") from None
    if form.winners_wanted.errors or form.claim_minutes.errors:
        loc = "winners_wanted" if form.winners_wanted.errors else "claim_minutes"
        raise services.RaffleError("field", "Write a whole number.", loc=loc)
    return services.RaffleFields(
        title=form.title.data or "", prize=form.prize.data or "", day=day, draw_time=draw_time,
        claim_place=form.claim_place.data or "", winners_wanted=form.winners_wanted.data or 0,
        eligibility=form.eligibility.data or "", exclude_past_winners=bool(form.exclude_past_winners.data),
        claim_minutes=form.claim_minutes.data or 0, screen_names=form.screen_names.data or "")


def _checked_csrf(form: FlaskForm) -> None:
    form.validate_on_submit()
    if form.csrf_token.errors:
        abort(400, "The form expired. Open the page again.")


# --- the list of raffles ---------------------------------------------------------------------


def _overview(form: RaffleForm | None = None, error: services.RaffleError | None = None, status: int = 200) -> Response:
    zone, days = _zone(), conference_days(get_conference())
    if form is None:
        form = RaffleForm(formdata=None)
        form.day.data = days[0].isoformat() if days else ""
    form.day.choices = [SelectChoice(d.isoformat(), d.strftime("%A %d %B")) for d in days]
    html = render_template("raffle/staff_overview.html", raffles=queries.all_raffles(), form=form, zone=zone,
                           days=days, error=error, errors={error.loc: str(error)} if error and error.loc else {})
    return not_stored((html, status))


@bp.get("")
@staff_required
def overview() -> ResponseReturnValue:
    """Every raffle by draw time, where each stands, and the form for a new one."""
    return _overview()


@bp.post("")
@staff_required
def create() -> ResponseReturnValue:
    """Add a raffle (audited); the page again with 400 and the field named if refused."""
    form = RaffleForm()
    _checked_csrf(form)
    try:
        raffle = services.create_raffle(_fields(form, conference_days(get_conference())), actor=_me(),
                                        now=timeutil.now(), zone=_zone(), rng=random.SystemRandom())
    except services.RaffleError as exc:
        db.session.rollback()
        return _overview(form, exc, 400)
    db.session.commit()
    flash(f"{raffle.title} is set up. Freeze the entries at the cut-off, then draw.")
    return redirect(url_for(".desk", code=raffle.code), 303)


# --- one raffle's desk -----------------------------------------------------------------------


def _desk(raffle: Raffle, *, error: services.RaffleError | None = None, status: int = 200,
          form: RaffleForm | None = None, list_form: ListForm | None = None) -> Response:
    zone = _zone()
    days = conference_days(get_conference())
    if form is None:
        form = RaffleForm(formdata=None, obj=raffle)
        form.day.data = raffle.day.isoformat()
        form.draw_time.data = raffle.draw_at.astimezone(zone).strftime("%H:%M")
    form.day.choices = [SelectChoice(d.isoformat(), d.strftime("%A %d %B")) for d in days]
    winners = queries.winners(raffle)
    holding = sum(1 for w in winners if w.status in ("drawn", "claimed"))
    html = render_template(
        "raffle/desk.html", raffle=raffle, zone=zone, form=form, list_form=list_form or ListForm(formdata=None),
        step=StepForm(formdata=None), winners=winners, open_places=raffle.winners_wanted - holding,
        now=timeutil.now(), eligible=queries.eligible_count(raffle, zone=zone) if raffle.state == "open" else None,
        entries=queries.entry_count(raffle) if raffle.frozen_at else None, error=error,
        errors={error.loc: str(error)} if error and error.loc else {}, screen_labels=SCREEN_LABELS,
        eligibility_labels=queries.ELIGIBILITY_LABELS,
        list_size=queries.list_size(raffle) if raffle.eligibility == "list" else None)
    return not_stored((html, status))


@bp.get("/<code>")
@staff_required
def desk(code: str) -> ResponseReturnValue:
    """A raffle's desk: its fields, who would enter, the next step, the winners."""
    return _desk(_raffle(code))


@bp.post("/<code>")
@staff_required
def update(code: str) -> ResponseReturnValue:
    """Change an open raffle's fields (audited)."""
    raffle = _raffle(code)
    form = RaffleForm()
    _checked_csrf(form)
    try:
        services.update_raffle(raffle, _fields(form, conference_days(get_conference())), actor=_me(),
                               now=timeutil.now(), zone=_zone())
    except services.RaffleError as exc:
        db.session.rollback()
        return _desk(_raffle(code), error=exc, status=409 if exc.reason == "frozen" else 400, form=form)
    db.session.commit()
    flash("Saved.")
    return redirect(url_for(".desk", code=code), 303)


def _uploaded_lines(form: ListForm) -> list[str]:
    upload = request.files.get("file")
    if upload and upload.filename:
        data = upload.stream.read(LIST_UPLOAD_MAX + 1)
        if len(data) > LIST_UPLOAD_MAX:
            raise services.RaffleError("list", "The file is over 2 MB: one email address or registration id per line.",
                                       loc="file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise services.RaffleError("list", "The file is not UTF-8 text: save it as UTF-8 (CSV UTF-8 in a "
                                               "spreadsheet) and upload it again.", loc="file") from None
        # A CSV export: the first column of each row.
        return [row[0] if row else "" for row in csv.reader(io.StringIO(text))]
    return (form.lines.data or "").splitlines()


@bp.post("/<code>/list")
@staff_required
def upload_list(code: str) -> ResponseReturnValue:
    """Replace the uploaded list of an open raffle: all lines known, or nothing changes (audited)."""
    raffle = _raffle(code)
    form = ListForm()
    _checked_csrf(form)
    try:
        count = services.set_list(raffle, _uploaded_lines(form), actor=_me(), now=timeutil.now())
    except services.RaffleError as exc:
        db.session.rollback()
        return _desk(_raffle(code), error=exc, status=409 if exc.reason == "frozen" else 400, list_form=form)
    db.session.commit()
    flash(f"The list has {count:,} {'person' if count == 1 else 'people'}.")
    return redirect(url_for(".desk", code=code), 303)


def _step(code: str, run) -> ResponseReturnValue:  # noqa: ANN001 - run(raffle, form) -> flash message
    raffle = _raffle(code)
    form = StepForm()
    _checked_csrf(form)
    try:
        message = run(raffle, form)
    except services.RaffleError as exc:
        db.session.rollback()
        status = 422 if exc.reason in ("confirm", "empty", "window_open", "exhausted", "no_place", "not_frozen",
                                       "not_drawn", "status") else 409
        return _desk(_raffle(code), error=exc, status=status)
    db.session.commit()
    flash(message)
    return redirect(url_for(".desk", code=code), 303)


@bp.post("/<code>/freeze")
@staff_required
def freeze(code: str) -> ResponseReturnValue:
    """Freeze the entries and publish the list hash and the commitment (audited)."""
    def run(raffle: Raffle, _: StepForm) -> str:
        count = services.freeze(raffle, actor=_me(), now=timeutil.now(), zone=_zone(), rng=random.SystemRandom())
        return f"Frozen: {count:,} {'entry' if count == 1 else 'entries'}. The list and the commitment are public now."
    return _step(code, run)


@bp.post("/<code>/draw")
@staff_required
def draw(code: str) -> ResponseReturnValue:
    """Reveal the seed and draw; a pool smaller than the prizes needs ``confirm=yes`` (audited)."""
    def run(raffle: Raffle, form: StepForm) -> str:
        winners = services.draw(raffle, actor=_me(), now=timeutil.now(), zone=_zone(), card_url=_card_url(),
                                confirm_small=form.confirm.data == "yes")
        return f"Drawn: {', '.join(w.entry.entry_code for w in winners)}."
    return _step(code, run)


@bp.post("/<code>/redraw")
@staff_required
def redraw(code: str) -> ResponseReturnValue:
    """Draw again for prizes left without a winner, continuing the sequence (audited)."""
    def run(raffle: Raffle, _: StepForm) -> str:
        winners = services.redraw(raffle, actor=_me(), now=timeutil.now(), zone=_zone(), card_url=_card_url())
        return f"Drawn again: {', '.join(w.entry.entry_code for w in winners)}."
    return _step(code, run)


@bp.post("/<code>/winners/<int:winner_id>")
@staff_required
def mark(code: str, winner_id: int) -> ResponseReturnValue:
    """Mark a winner claimed, or not claimed once the window ended (audited)."""
    def run(raffle: Raffle, form: StepForm) -> str:
        winner = db.session.get(RaffleWinner, winner_id)
        if winner is None or winner.raffle_id != raffle.id:
            abort(404, "This raffle has no such winner.")
        services.mark(winner, form.status.data or "", actor=_me(), now=timeutil.now(), zone=_zone())
        return f"{winner.entry.entry_code}: {'claimed' if form.status.data == 'claimed' else 'not claimed'}."
    return _step(code, run)


# --- the audit log ---------------------------------------------------------------------------


@bp.get("/<code>/log")
@staff_required
def log(code: str) -> ResponseReturnValue:
    """Every action on this raffle: when, who, what."""
    raffle = _raffle(code)
    html = render_template("raffle/log.html", raffle=raffle, events=queries.audit_trail(raffle), zone=_zone())
    return not_stored(html)


@bp.get("/<code>/log.csv")
@staff_required
def log_csv(code: str) -> ResponseReturnValue:
    """The audit log as CSV: time (UTC), who, action, raffle, details (JSON)."""
    raffle = _raffle(code)
    body = csv_document(audit.CSV_HEADER, audit.csv_rows(queries.audit_trail(raffle)))
    return csv_download(body, f"raffle-{raffle.code}-log.csv")
