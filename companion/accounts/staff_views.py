"""Staff pages of accounts: the attendee import, and accounts and roles (admins).

The import takes three steps: upload, columns (which column holds which field, with a preview),
check (the validation report and what importing would do, computed by running the import and
rolling it back), then import or cancel. Between the steps the file waits in
:mod:`companion.uploads`: the token is random, checked against a strict pattern, only the staff
member who uploaded the file can use it (404 for anyone else), and the file is deleted after the
import or the cancel; the client never names a path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from companion import timeutil, uploads
from companion.accounts import importing, roster, services
from companion.accounts.access import admin_required, staff_required
from companion.accounts.forms import ConfirmForm, strip_whitespace
from companion.accounts.models import User
from companion.errors import Problem
from companion.extensions import db
from companion.schedule.interchange import ImportProblem
from companion.staff import links

bp = Blueprint("accounts_staff", __name__, url_prefix="/staff")

PAGE_SIZE = 50
UPLOAD_KIND = "attendee-import"
_DELIMITER_CHOICES = [SelectChoice("auto", "Detect it"), SelectChoice("comma", "Comma"),
                      SelectChoice("semicolon", "Semicolon"), SelectChoice("tab", "Tab")]
_DELIMITERS = {name: char for char, name in importing.DELIMITERS.items()}
ROLE_CHOICES = [SelectChoice("", "none"), *(SelectChoice(role, role) for role in ("staff", "booth", "admin"))]

links.register("Import attendees", "accounts_staff.import_upload", roles=("staff",),
               description="Upload the registration system's CSV, map its columns, check it, then import.")
links.register("Accounts and roles", "accounts_staff.accounts", roles=("admin",),
               description="Find people, give staff, booth and admin roles, create staff accounts.")


class UploadForm(FlaskForm):
    file = FileField("CSV file from the registration system", validators=[FileRequired("Choose the CSV file.")])
    delimiter = SelectField("Delimiter", choices=_DELIMITER_CHOICES, default="auto")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, default="")
    booth_code = StringField("Booth code", filters=[strip_whitespace], validators=[Optional(), Length(max=32)])


class StaffAccountForm(RoleForm):
    email = EmailField("Email address", filters=[strip_whitespace],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    name = StringField("Name", filters=[strip_whitespace], validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES[1:], default="staff")


# --- the stored upload ----------------------------------------------------------------------


def _load(token: str) -> bytes:
    """The signed-in staff member's stored upload ``token`` (404 if there is none of theirs)."""
    return uploads.load(token, kind=UPLOAD_KIND, owner_id=current_user.id)[0]


def _stored_filename(token: str) -> str:
    """The upload's file name as stored at upload time (what the audit log records, not the URL's)."""
    return str(uploads.load(token, kind=UPLOAD_KIND, owner_id=current_user.id)[1].get("filename") or "upload.csv")


def _discard(token: str) -> None:
    """Forget the signed-in staff member's upload ``token`` (404 if it is somebody else's)."""
    uploads.discard(token, kind=UPLOAD_KIND, owner_id=current_user.id)


def _params() -> dict[str, str]:
    """The upload's file name and delimiter, carried from step to step in the query or the form."""
    delimiter = request.values.get("delimiter", "auto")
    return {"filename": (request.values.get("filename") or "upload.csv")[:200],
            "delimiter": delimiter if delimiter in _DELIMITERS or delimiter == "auto" else "auto"}


def _table(token: str) -> importing.CsvTable:
    try:
        return importing.read_csv(_load(token), delimiter=_DELIMITERS.get(_params()["delimiter"]))
    except ImportProblem as problem:  # read at upload already: only a changed reader gets here
        raise Problem(400, f"{problem}. Upload the file again.") from problem


def _mapping(values: Mapping[str, str], headers: tuple[str, ...]) -> dict[str, int]:
    """The mapping chosen on the columns page (``col_<field>`` = column number), else the automatic one."""
    if not any(f"col_{name}" in values for name in importing.FIELDS):
        return importing.auto_map(headers)
    chosen = {name: values.get(f"col_{name}", "") for name in importing.FIELDS}
    # isascii(): "²".isdigit() is true, but int("²") fails.
    return {name: int(v) for name, v in chosen.items() if v.isascii() and v.isdigit() and int(v) < len(headers)}


def _columns_page(token: str, table: importing.CsvTable, mapping: dict[str, int], error: str | None = None,
                  status: int = 200) -> ResponseReturnValue:
    return render_template("accounts/staff_import_columns.html", token=token, table=table, mapping=mapping,
                           preview=table.rows[:5], fields=importing.FIELDS, labels=importing.FIELD_LABELS,
                           params=_params(), form=ConfirmForm(), error=error), status


def _check_page(token: str, rows: list[importing.AttendeeRow], mapping: dict[str, int], notice: str | None = None,
                status: int = 200) -> ResponseReturnValue:
    """The validation report and what the import would do: the import run with skipping, rolled back."""
    try:
        report = roster.import_attendees(rows, now=timeutil.now(), skip_invalid=True,
                                         actor=current_user._get_current_object(), filename=_stored_filename(token))  # noqa: SLF001
    except roster.ImportConflict as exc:
        raise Problem(409, str(exc), title="Conflict") from exc
    finally:
        db.session.rollback()
    columns_url = url_for(".import_columns", token=token, **_params(),
                          **{f"col_{name}": mapping.get(name, "") for name in importing.FIELDS})
    return render_template("accounts/staff_import_check.html", token=token, report=report, mapping=mapping,
                           rows=len(rows), params=_params(), form=ConfirmForm(), notice=notice,
                           fields=importing.FIELDS, columns_url=columns_url), status


def _checked_rows(token: str) -> tuple[list[importing.AttendeeRow], dict[str, int]]:
    """The stored file's rows read with the posted mapping.

    :raise HTTPException: answering with the columns page (400) and why, if the mapping does not do.
    """
    table = _table(token)
    mapping = _mapping(request.form, table.headers)
    try:
        if len(set(mapping.values())) < len(mapping):
            raise ImportProblem("each column can hold one field only: choose another column or none")
        return importing.attendee_rows(table, mapping), mapping
    except ImportProblem as problem:
        abort(make_response(_columns_page(token, table, mapping, error=f"{problem}.", status=400)))


# --- the import pages -----------------------------------------------------------------------


@bp.route("/attendees/import", methods=["GET", "POST"])
@staff_required
def import_upload() -> ResponseReturnValue:
    """Step 1: upload the CSV; it is read at once, so a wrong encoding is reported here."""
    form = UploadForm()
    error = None
    if form.validate_on_submit():
        filename = uploads.clean_filename(form.file.data.filename, default="upload.csv")
        try:
            data = uploads.read_upload(form.file.data, int(current_app.config["MAX_IMPORT_BYTES"]))
            importing.read_csv(data, delimiter=_DELIMITERS.get(form.delimiter.data))
        except ImportProblem as problem:
            error = f"{filename}: {problem}. Nothing was imported."
        else:
            token = uploads.store(data, kind=UPLOAD_KIND, owner_id=current_user.id, now=timeutil.now(),
                                  meta={"filename": filename})
            return redirect(url_for(".import_columns", token=token, filename=filename,
                                    delimiter=form.delimiter.data), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/staff_import_upload.html", form=form, error=error), status


@bp.get("/attendees/import/<token>")
@staff_required
def import_columns(token: str) -> ResponseReturnValue:
    """Step 2: which column holds which field, pre-filled by header names, with the first rows."""
    table = _table(token)
    return _columns_page(token, table, _mapping(request.args, table.headers))


@bp.post("/attendees/import/<token>/check")
@staff_required
def import_check(token: str) -> ResponseReturnValue:
    """Step 3: every row checked; invalid rows with their lines, and what the import would do."""
    rows, mapping = _checked_rows(token)
    return _check_page(token, rows, mapping)


@bp.post("/attendees/import/<token>/apply")
@staff_required
def import_apply(token: str) -> ResponseReturnValue:
    """Import in one transaction: all rows valid, or the staff member chose to skip the invalid ones."""
    rows, mapping = _checked_rows(token)
    try:
        report = roster.import_attendees(rows, now=timeutil.now(), skip_invalid=request.form.get("skip_invalid") == "y",
                                         actor=current_user._get_current_object(), filename=_stored_filename(token))  # noqa: SLF001
    except (roster.InvalidRows, roster.ImportConflict) as exc:
        db.session.rollback()
        return _check_page(token, rows, mapping, notice=str(exc), status=409)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    _discard(token)
    return render_template("accounts/staff_import_done.html", report=report, params=_params())


@bp.post("/attendees/import/<token>/cancel")
@staff_required
def import_cancel(token: str) -> ResponseReturnValue:
    """Forget the uploaded file; nothing was written."""
    _discard(token)
    flash("Import cancelled: nothing was changed.")
    return redirect(url_for(".import_upload"), 303)


# --- accounts and roles ---------------------------------------------------------------------


def _attendee_link() -> Callable[[int], str] | None:
    """How to link an attendee's staff page, if a feature serves ``/staff/attendees/<id>``."""
    try:
        endpoint, args = current_app.url_map.bind("localhost").match("/staff/attendees/1", method="GET")
    except HTTPException:
        return None
    if len(args) != 1:
        return None
    (name,) = args
    return lambda attendee_id: url_for(endpoint, **{name: attendee_id})


def _accounts_page(*, error: str | None = None, create_form: StaffAccountForm | None = None,
                   status: int = 200) -> ResponseReturnValue:
    query = (request.values.get("q") or "").strip()[:100]
    page = min(max(1, request.values.get("page", 1, type=int) or 1), 10_000)
    people = select(User)
    if query:
        needle = query.lower()
        people = people.where(or_(func.lower(User.name).contains(needle, autoescape=True),
                                  User.email.contains(needle, autoescape=True)))
    else:
        people = people.where(User.role.is_not(None))
    total = db.session.scalar(select(func.count()).select_from(people.subquery())) or 0
    found = db.session.scalars(people.options(selectinload(User.attendee)).order_by(User.name, User.id)
                               .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("accounts/staff_accounts.html", people=found, query=query, page=page, total=total,
                           pages=max(1, -(-total // PAGE_SIZE)), roles=ROLE_CHOICES, error=error,
                           create_form=create_form or StaffAccountForm(formdata=None),
                           form=ConfirmForm(), attendee_link=_attendee_link()), status


def _back_to_accounts() -> ResponseReturnValue:
    query, page = request.values.get("q") or None, request.values.get("page", type=int)
    return redirect(url_for(".accounts", q=query, page=page if page and page > 1 else None), 303)


def _first_error(form: FlaskForm) -> str:
    return next((f"{form[name].label.text}: {errors[0]}" for name, errors in form.errors.items() if name in form),
                "The form expired: try again.")


@bp.get("/accounts")
@admin_required
def accounts() -> ResponseReturnValue:
    """People with a role, or everyone matching a search; 50 to a page."""
    return _accounts_page()


@bp.post("/accounts")
@admin_required
def create_account() -> ResponseReturnValue:
    """Create a staff account (they sign in with a link by mail)."""
    form = StaffAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(error=_first_error(form), create_form=form, status=400)
    now = timeutil.now()
    try:
        user = services.create_user(form.email.data, form.name.data, now=now)
        services.set_role(user, form.role.data, booth_code=form.booth_code.data or None,
                          actor=current_user._get_current_object(), now=now)  # noqa: SLF001
    except services.AccountError as exc:
        db.session.rollback()
        return _accounts_page(error=str(exc), create_form=form, status=400)
    db.session.commit()
    flash(f"{user.email} is {form.role.data} now. They sign in with a link sent to that address.")
    return _back_to_accounts()


@bp.post("/accounts/<int:user_id>/role")
@admin_required
def change_role(user_id: int) -> ResponseReturnValue:
    """Change a person's role (audited); an admin cannot drop their own admin role."""
    person = db.session.get(User, user_id)
    if person is None:
        raise Problem(404, "There is no such person.", title="Not Found")
    form = RoleForm()
    if not form.validate_on_submit():
        return _accounts_page(error=_first_error(form), status=400)
    role = form.role.data or None
    if person.id == current_user.id and role != "admin":
        return _accounts_page(status=400, error="You cannot remove your own admin role: nobody could give it "
                                                "back if you were the last admin. Ask another admin to do it.")
    try:
        services.set_role(person, role, booth_code=form.booth_code.data or None,
                          actor=current_user._get_current_object(), now=timeutil.now())  # noqa: SLF001
    except services.AccountError as exc:
        db.session.rollback()
        return _accounts_page(error=f"{person.email}: {exc}.", status=400)
    db.session.commit()
    flash(f"{person.email}: role {role or 'none'}{f' (booth {person.booth_code})' if person.booth_code else ''}.")
    return _back_to_accounts()
