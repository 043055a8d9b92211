"""Staff: importing hunt stations from a CSV. Routes of the ``hunt_staff`` blueprint.

Upload, then a check page that lists what would be added and every bad row by its number, then
"Import" (all stations in one transaction, or none) or "Cancel". The file waits between the steps
in :mod:`companion.uploads` (the uploader's only, swept after a day).
"""

from __future__ import annotations

import random

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select

from companion import timeutil, uploads
from companion.accounts.access import staff_required
from companion.accounts.forms import ConfirmForm
from companion.accounts.services import record
from companion.extensions import db
from companion.hunt import importing, services
from companion.hunt.models import Station
from companion.hunt.staff_views import MODE_LABELS, bp, conference_days
from companion.sessions import not_stored
from companion.schedule.interchange import ImportProblem

UPLOAD_KIND = "hunt-stations-import"


class UploadForm(FlaskForm):
    file = FileField("CSV file of stations", validators=[FileRequired("Choose the CSV file.")])


def _read(token: str) -> tuple[importing.StationFile | None, str | None, str]:
    """The stored upload read and checked: (the file, None) or (None, what is wrong), and its name."""
    data, meta = uploads.load(token, kind=UPLOAD_KIND, owner_id=current_user.id)
    filename = str(meta.get("filename") or "stations.csv")
    existing = db.session.scalars(select(Station.name))
    try:
        return importing.read_stations(data, days=conference_days(), existing_names=existing), None, filename
    except ImportProblem as problem:
        return None, f"{problem}.", filename


def _check_page(token: str, notice: str | None = None, status: int = 200) -> Response:
    checked, problem, filename = _read(token)
    html = render_template("hunt/staff_import_check.html", token=token, checked=checked, problem=problem,
                           filename=filename, notice=notice, form=ConfirmForm(), mode_labels=MODE_LABELS)
    return not_stored((html, status))


@bp.route("/import", methods=["GET", "POST"])
@staff_required
def import_upload() -> ResponseReturnValue:
    """Step 1: upload the CSV of stations (then the check page lists what it would add)."""
    form = UploadForm()
    error = None
    if form.validate_on_submit():
        filename = uploads.clean_filename(form.file.data.filename, default="stations.csv")
        try:
            data = uploads.read_upload(form.file.data, int(current_app.config["MAX_IMPORT_BYTES"]))
        except ImportProblem as problem:
            error = f"{filename}: {problem}. Nothing was imported."
        else:
            token = uploads.store(data, kind=UPLOAD_KIND, owner_id=current_user.id, now=timeutil.now(),
                                  meta={"filename": filename})
            return redirect(url_for(".import_check", token=token), 303)
    elif request.method == "POST" and form.csrf_token.errors:
        abort(400, "The form expired. Open the import page again.")
    html = render_template("hunt/staff_import_upload.html", form=form, error=error, columns=importing.COLUMNS,
                           days=conference_days())
    return not_stored((html, 400 if request.method == "POST" else 200))


@bp.get("/import/<token>")
@staff_required
def import_check(token: str) -> ResponseReturnValue:
    """Step 2: every row checked; what would be added, or each bad row with its number. Nothing is written."""
    return _check_page(token)


@bp.post("/import/<token>/apply")
@staff_required
def import_apply(token: str) -> ResponseReturnValue:
    """Add every station of the file in one transaction, or none if any row is not valid (audited)."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired. Open the check page again.")
    checked, problem, filename = _read(token)
    if checked is None or not checked.ok:
        return _check_page(token, notice="Nothing was imported: the file has problems.", status=409)
    now, rng = timeutil.now(), random.SystemRandom()
    added = []
    try:
        for row in checked.rows:
            added.append(services.add_station(row.name, days=list(row.days), location=row.location,
                                              description=row.description, required=row.required, mode=row.mode,
                                              now=now, rng=rng))
    except services.HuntError as exc:
        db.session.rollback()
        return _check_page(token, notice=f"Nothing was imported: line {row.line}: {exc}", status=409)
    record(current_user._get_current_object(), "hunt.stations.import", filename, now=now, stations=[s.code for s in added])
    db.session.commit()
    uploads.discard(token, kind=UPLOAD_KIND, owner_id=current_user.id)
    flash(f"Imported {len(added)} station{'s' if len(added) != 1 else ''} from {filename}.")
    return redirect(url_for(".overview"), 303)


@bp.post("/import/<token>/cancel")
@staff_required
def import_cancel(token: str) -> ResponseReturnValue:
    """Forget the uploaded file; nothing was written."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired. Open the check page again.")
    uploads.discard(token, kind=UPLOAD_KIND, owner_id=current_user.id)
    flash("Import cancelled: nothing was changed.")
    return redirect(url_for(".import_upload"), 303)
