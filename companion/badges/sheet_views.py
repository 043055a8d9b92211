"""Staff page ``/staff/badges``: download print-ready badge sheets as PDF.

Everyone, one ticket type, or a list of email addresses; A6 or 4x3 in on Letter. The PDF is
rendered within the request (2,000 badges take several seconds): fine for a staff member who
prints a batch, and the page says so. It is a POST, so the addresses stay out of access logs.
"""

from __future__ import annotations

import io
import re

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from companion import timeutil
from companion.accounts.access import role_required
from companion.accounts.models import Attendee
from companion.badges.sheets import badge_faces, render_badge_sheet, select_attendees, sheet_info
from companion.extensions import db
from companion.schedule.queries import get_conference
from companion.staff import links

bp = Blueprint("badge_sheets", __name__, url_prefix="/staff/badges")

links.register("Print badges", "badge_sheets.page", roles=("staff",),
               description="Badge sheets as PDF for everyone, one ticket type or a list of attendees.")

WHO = [SelectChoice("all", "Everyone"), SelectChoice("ticket", "One ticket type"),
       SelectChoice("emails", "These attendees")]
LAYOUT_CHOICES = [SelectChoice("a6", "A6, one badge per page (badge printers)"),
                  SelectChoice("letter-4x3", "US Letter, six 4x3 in badges per page, with crop marks")]


class BadgeSheetForm(FlaskForm):
    """Whose badges, and on which paper."""

    who = RadioField("Whose badges", choices=WHO, default="all")
    ticket_type = SelectField("Ticket type", choices=[], validate_choice=False)
    emails = TextAreaField("Email addresses (separated by commas or new lines)", validators=[Length(max=200_000)])
    layout = RadioField("Paper", choices=LAYOUT_CHOICES, default="a6")


def ticket_types() -> list[str]:
    """The ticket types attendees hold, sorted: the choices of the form."""
    return sorted(kind for kind in db.session.scalars(select(Attendee.ticket_type).distinct()) if kind)


def _page(form: BadgeSheetForm, status: int = 200, note: str | None = None) -> ResponseReturnValue:
    conference = get_conference()
    return render_template("badges/sheets.html", form=form, note=note,
                           wifi_missing=conference is None or not conference.wifi_ssid), status


@bp.route("/", methods=["GET", "POST"])
@role_required("staff")
def page() -> ResponseReturnValue:
    """The form, and on POST the PDF as an attachment."""
    form = BadgeSheetForm()
    kinds = ticket_types()
    form.ticket_type.choices = [SelectChoice(kind, kind) for kind in kinds]
    if not form.validate_on_submit():
        return _page(form, 400 if request.method == "POST" else 200)
    entries, ticket = None, None
    if form.who.data == "ticket":
        if form.ticket_type.data not in kinds:
            form.ticket_type.errors = ["Choose one of the ticket types."]
            return _page(form, 400)
        ticket = form.ticket_type.data
    elif form.who.data == "emails":
        entries = [part for part in re.split(r"[,;\s]+", form.emails.data or "") if part]
        if not entries:
            form.emails.errors = ["Enter at least one email address."]
            return _page(form, 400)
    attendees, unknown = select_attendees(entries, ticket_type=ticket)
    if unknown:
        form.emails.errors = [f"No attendee has these addresses: {', '.join(unknown)}. Fix or remove them."]
        return _page(form, 400)
    if not attendees:
        return _page(form, 400, note="No attendees match: nothing to print.")
    buffer = io.BytesIO()
    result = render_badge_sheet(badge_faces(attendees), sheet_info(get_conference()), buffer, layout=form.layout.data)
    for warning in result.warnings:
        current_app.logger.warning("badge sheet: %s", warning)
    response = current_app.response_class(buffer.getvalue(), mimetype="application/pdf")
    name = f"badges-{timeutil.now().date().isoformat()}-{form.layout.data}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"  # names and badge tokens: keep it out of every cache
    return response
