"""My data pages: see what the app holds about you, download it as JSON, delete your account."""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from companion import timeutil
from companion.accounts import my_data, services
from companion.accounts.access import signed_in_required
from companion.extensions import db
from companion.schedule.queries import conference_zone, get_conference

bp = Blueprint("my_data", __name__)


class DeleteAccountForm(FlaskForm):
    confirm_email = EmailField("Type your email address to confirm", validators=[DataRequired(), Length(max=254)])


def _no_store(response: ResponseReturnValue) -> ResponseReturnValue:
    response = current_app.make_response(response)
    # Personal data: no shared cache, no browser cache left behind on a borrowed phone.
    response.headers["Cache-Control"] = "no-store"
    return response


def _when_in(zone_name: str):  # noqa: ANN202 - a template helper
    zone = timeutil.zone(zone_name)

    def when(iso: str | None) -> str | None:
        """``Tue 7 Apr 2026, 09:12``: an ISO time of the export, in the conference's zone."""
        if not iso:
            return None
        moment = datetime.fromisoformat(iso).astimezone(zone)
        return f"{moment:%a} {moment.day} {moment:%b %Y}, {moment:%H:%M}"

    return when


def _page(form: DeleteAccountForm, status: int = 200, error: str | None = None) -> ResponseReturnValue:
    user = current_user._get_current_object()  # noqa: SLF001
    data = my_data.export_person(user)
    sections = [(name, data.get(name)) for name in my_data.registered_sections()]
    zone = conference_zone(get_conference())
    html = render_template("accounts/my_data.html", data=data, sections=sections, form=form, error=error,
                           when=_when_in(str(zone)), zone=zone)
    return _no_store((html, status))


@bp.get("/me/data")
@signed_in_required
def page() -> ResponseReturnValue:
    """What the app holds about the signed-in person, the download, and account deletion."""
    return _page(DeleteAccountForm())


@bp.get("/me/data.json")
@signed_in_required
def download() -> ResponseReturnValue:
    """Everything about the signed-in person as a JSON file (only theirs)."""
    user = current_user._get_current_object()  # noqa: SLF001
    body = json.dumps(my_data.export_person(user), indent=2, ensure_ascii=False)
    response = current_app.response_class(body + "\n", mimetype="application/json")
    day = timeutil.now().date().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{day}.json"'
    return _no_store(response)


@bp.post("/me/delete")
@signed_in_required
def delete_account() -> ResponseReturnValue:
    """Delete the signed-in person's account once they typed their own address; sign them out."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    user = current_user._get_current_object()  # noqa: SLF001
    try:
        typed = services.normalise_email(form.confirm_email.data)
    except services.AccountError:
        typed = None
    if typed != user.email:
        form.confirm_email.errors = ["That is not the address of this account: type it exactly to confirm."]
        return _page(form, 400)
    try:
        my_data.delete_person(user, now=timeutil.now())
    except my_data.LastAdminError as exc:
        db.session.rollback()
        return _page(DeleteAccountForm(formdata=None), 409, error=str(exc))
    db.session.commit()
    logout_user()
    return _no_store(render_template("accounts/my_data_deleted.html"))
