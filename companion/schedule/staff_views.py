"""Staff schedule import: upload a file, see the dry-run diff, then apply it or cancel.

The preview is the real thing run backwards: the importer parses the file, the sync service
(:func:`~companion.schedule.services.apply_schedule`) applies it in a transaction, the page reads
what changed, and the transaction is rolled back. Between the two steps the file waits in
:mod:`companion.uploads` (a random token, checked against a strict pattern, never a path the
client chose; only its uploader can apply or cancel it), with its name, format and zone.
"Apply" parses the same stored file again and applies it in one transaction, unless the schedule
moved on since the preview (its ``schedule_version`` differs): then the new diff is shown instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from companion import timeutil, uploads
from companion.accounts import services as account_services
from companion.accounts.access import staff_required
from companion.accounts.forms import strip_whitespace
from companion.database import lock_for_writing
from companion.errors import Problem
from companion.extensions import db
from companion.schedule import cache, queries
from companion.schedule.importers import parse_schedule
from companion.schedule.interchange import ImportProblem, ParsedSchedule
from companion.schedule.models import Conference, Session, SessionChange
from companion.schedule.services import ImportReport, apply_schedule
from companion.staff import links

bp = Blueprint("schedule_staff", __name__, url_prefix="/staff/schedule")

FORMAT_CHOICES = [
    SelectChoice("auto", "Recognise it from the content"),
    SelectChoice("c3voc-json", "c3voc / pretalx schedule.json"),
    SelectChoice("frab-xml", "frab / pentabarf schedule.xml"),
    SelectChoice("ical", "iCalendar (.ics)"),
    SelectChoice("sched-csv", "Sched export (CSV or JSON)"),
]
UPLOAD_KIND = "schedule-import"

links.register("Import the schedule", "schedule_staff.import_page", roles=("staff",),
               description="Upload a pretalx, frab, c3voc, Sched or iCalendar file, see what it changes, then apply it.")


class UploadForm(FlaskForm):
    file = FileField("Schedule file", validators=[FileRequired("Choose the schedule file to import.")])
    format = SelectField("Format", choices=FORMAT_CHOICES, default="auto")
    timezone = StringField("Time zone for times without one (Sched exports)", filters=[strip_whitespace],
                           validators=[Optional(), Length(max=64)])


class DecisionForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Regexp(f"^{uploads.TOKEN_PATTERN}$")])
    seen_version = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,12}$")])


# --- the stored upload ----------------------------------------------------------------------


@dataclass
class Upload:
    token: str
    filename: str
    fmt: str
    zone: str | None


def _store(data: bytes, filename: str, fmt: str, zone: str | None, now: datetime) -> Upload:
    """Keep ``data`` under a new random token until the staff member applies or cancels."""
    token = uploads.store(data, kind=UPLOAD_KIND, owner_id=current_user.id, now=now,
                          meta={"filename": filename, "format": fmt, "timezone": zone})
    return Upload(token, filename, fmt, zone)


def _load(token: str) -> tuple[Upload, bytes]:
    """The signed-in staff member's stored upload ``token`` and its bytes.

    :raise uploads.UploadGone: 404 if there is no such upload of theirs (applied, cancelled, swept, forged).
    """
    data, meta = uploads.load(token, kind=UPLOAD_KIND, owner_id=current_user.id)
    return Upload(token, str(meta.get("filename")), str(meta.get("format")), meta.get("timezone")), data


def _discard(token: str) -> None:
    """Forget the signed-in staff member's upload ``token`` (404 if it is somebody else's)."""
    uploads.discard(token, kind=UPLOAD_KIND, owner_id=current_user.id)


# --- the diff as the page shows it ----------------------------------------------------------


@dataclass
class ChangeRow:
    title: str
    code: str
    when: str  # "Tue 7 Apr 09:00–09:30", or "Tue 7 Apr 09:00–09:30 → 09:15–09:45"
    room: str  # "Master Stage", or "Master Stage → Junior Stage"
    other: list[str] = field(default_factory=list)  # title, details, restored, why cancelled


@dataclass
class Preview:
    report: ImportReport
    fmt: str
    seen_version: int
    zone: str
    groups: dict[str, list[ChangeRow]]


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def _span(start: datetime, end: datetime, tz: ZoneInfo, with_day: bool = True) -> str:
    start, end = start.astimezone(tz), end.astimezone(tz)
    text = f"{start:%H:%M}–{end:%H:%M}"
    return f"{_day(start)} {text}" if with_day else text


def _moved(old: tuple[datetime, datetime], new: tuple[datetime, datetime], tz: ZoneInfo) -> str:
    same_day = old[0].astimezone(tz).date() == new[0].astimezone(tz).date()
    return f"{_span(*old, tz)} → {_span(*new, tz, with_day=not same_day)}"


def _describe(change: SessionChange) -> str | None:
    if change.kind in ("time", "room"):
        return None  # shown in their own columns
    if change.kind == "title":
        return f"title: {change.old_value} → {change.new_value}"
    if change.kind == "details":
        return f"details: {change.new_value}"
    if change.kind == "cancelled":
        return change.new_value if change.new_value != "cancelled" else "cancelled in the file"
    return "restored" if change.kind == "restored" else change.kind


def _version() -> int:
    return db.session.scalar(select(Conference.schedule_version).limit(1)) or 0


def _dry_run(parsed: ParsedSchedule, *, now: datetime) -> Preview:
    """Apply ``parsed``, read what the sync service changed, roll everything back."""
    try:
        lock_for_writing(db.session, "schedule")  # the version seen and the diff belong together
        version = _version()
        before = {
            s.id: (s.starts_at, s.ends_at, s.room.name if s.room else None, s.state)
            for s in db.session.scalars(select(Session))
        }
        last_change = db.session.scalar(select(func.max(SessionChange.id))) or 0
        report = apply_schedule(parsed, now=now, rng=random.SystemRandom())
        tz = queries.conference_zone(queries.get_conference())
        changes: dict[int, list[SessionChange]] = {}
        for change in db.session.scalars(select(SessionChange).where(SessionChange.id > last_change).order_by(SessionChange.id)):
            changes.setdefault(change.session_id, []).append(change)
        groups: dict[str, list[ChangeRow]] = {"added": [], "changed": [], "cancelled": []}
        for session in db.session.scalars(select(Session).order_by(Session.starts_at, Session.title, Session.id)):
            room = session.room.name if session.room else None
            if session.id not in before:
                groups["added"].append(ChangeRow(session.title, session.code, _span(session.starts_at, session.ends_at, tz), room or "no room"))
                continue
            if session.id not in changes:
                continue
            old_start, old_end, old_room, old_state = before[session.id]
            new_times = (session.starts_at, session.ends_at)
            when = _moved((old_start, old_end), new_times, tz) if (old_start, old_end) != new_times else _span(*new_times, tz)
            where = f"{old_room or 'no room'} → {room or 'no room'}" if old_room != room else (room or "no room")
            other = [text for text in map(_describe, changes[session.id]) if text]
            outcome = "cancelled" if old_state != "cancelled" and session.state == "cancelled" else "changed"
            groups[outcome].append(ChangeRow(session.title, session.code, when, where, other))
        zone = str(tz)
    finally:
        db.session.rollback()
    return Preview(report, parsed.format, version, zone, groups)


# --- pages ----------------------------------------------------------------------------------


def _upload_page(form: UploadForm, status: int = 200, problem: ImportProblem | None = None,
                 filename: str | None = None, notice: str | None = None) -> ResponseReturnValue:
    return render_template("schedule/staff_import.html", form=form, problem=problem, filename=filename,
                           notice=notice), status


def _preview_page(upload: Upload, parsed: ParsedSchedule, notice: str | None = None, status: int = 200) -> ResponseReturnValue:
    preview = _dry_run(parsed, now=timeutil.now())
    decision = DecisionForm(formdata=None, token=upload.token, seen_version=str(preview.seen_version))
    return render_template("schedule/staff_import_preview.html", upload=upload, preview=preview,
                           decision=decision, notice=notice), status


def _parse(data: bytes, upload_fmt: str, zone: str | None) -> ParsedSchedule:
    return parse_schedule(data, fmt=upload_fmt, timezone=zone, max_bytes=int(current_app.config["MAX_IMPORT_BYTES"]))


@bp.get("/import")
@staff_required
def import_page() -> ResponseReturnValue:
    """The upload form."""
    return _upload_page(UploadForm())


@bp.post("/import")
@staff_required
def upload() -> ResponseReturnValue:
    """Read the uploaded file, keep it, and show what importing it would change."""
    form = UploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    zone = form.timezone.data or None
    if zone is not None and not timeutil.is_known_zone(zone):
        form.timezone.errors = [f"{zone!r} is not an IANA time zone (for example Europe/Paris)."]
        return _upload_page(form, 400)
    filename = uploads.clean_filename(form.file.data.filename)
    try:
        data = uploads.read_upload(form.file.data, int(current_app.config["MAX_IMPORT_BYTES"]))
        parsed = _parse(data, form.format.data, zone)
    except ImportProblem as problem:
        return _upload_page(form, 400, problem=problem, filename=filename)
    stored = _store(data, filename, form.format.data, zone, timeutil.now())
    return _preview_page(stored, parsed)


def _decision() -> DecisionForm:
    form = DecisionForm()
    if not form.validate_on_submit():
        raise Problem(400, "This form is not valid any more. Upload the file again.", title="Bad Request")
    return form


@bp.post("/import/apply")
@staff_required
def apply() -> ResponseReturnValue:
    """Apply the previewed file in one transaction, unless the schedule changed since the preview."""
    form = _decision()
    stored, data = _load(form.token.data)
    try:
        parsed = _parse(data, stored.fmt, stored.zone)
    except ImportProblem as problem:  # the same bytes parsed at upload: only a changed importer gets here
        _discard(stored.token)
        return _upload_page(UploadForm(formdata=None), 400, problem=problem, filename=stored.filename)
    now = timeutil.now()
    lock_for_writing(db.session, "schedule")  # no other import between the check and the apply
    if _version() != int(form.seen_version.data):
        db.session.rollback()
        notice = ("The schedule changed since your preview (another import was applied). "
                  "This is what your file would change now: check it, then apply again.")
        return _preview_page(stored, parsed, notice=notice, status=409)
    try:
        report = apply_schedule(parsed, now=now, rng=random.SystemRandom())
        actor = current_user._get_current_object()  # noqa: SLF001
        account_services.record(actor, "schedule.import", stored.filename, now=now, summary=report.summary(),
                                format=parsed.format)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    cache.clear()
    _discard(stored.token)
    return render_template("schedule/staff_import_done.html", upload=stored, report=report)


@bp.post("/import/cancel")
@staff_required
def cancel() -> ResponseReturnValue:
    """Forget the uploaded file; nothing was written."""
    form = _decision()
    _discard(form.token.data)
    return _upload_page(UploadForm(formdata=None), notice="Import cancelled: nothing was changed.")
