"""The Notifications page: what a signed-in person wants pushed, and this phone on or off.

The form (reminders and their lead time, change alerts, announcements) works without
JavaScript. Turning notifications on or off for the phone in hand needs the browser's Push API,
so static/js/push.js does that against the JSON API (companion.push.api), with the server's
VAPID public key taken from the page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf

from companion import timeutil
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.extensions import db
from companion.push import services
from companion.push.models import LEAD_MINUTES
from companion.push.vapid import VapidError, load_keys

bp = Blueprint("push", __name__)

LEAD_CHOICES = [SelectChoice(str(m), f"{m} minutes before") for m in LEAD_MINUTES]
LEAD_ERROR = f"Choose how long before: {', '.join(map(str, LEAD_MINUTES[:-1]))} or {LEAD_MINUTES[-1]} minutes."


class PreferencesForm(FlaskForm):
    """What to push: reminders before starred sessions (and how long before), changes, announcements."""

    reminders = BooleanField("Remind me before my starred sessions")
    # The choice is checked by AnyOf, with a message a person can act on, not WTForms' "Not a valid choice".
    lead_minutes = SelectField("How long before", choices=LEAD_CHOICES, validate_choice=False,
                               validators=[AnyOf([choice.value for choice in LEAD_CHOICES], message=LEAD_ERROR)])
    change_alerts = BooleanField("Tell me when one of my sessions moves or is cancelled")
    announcements = BooleanField("Announcements from the organisers")


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001 - the User behind the proxy


def _public_key() -> str | None:
    """The VAPID public key browsers subscribe with; None if the server has none (or a broken one)."""
    try:
        keys = load_keys(current_app._get_current_object())  # noqa: SLF001
    except VapidError as exc:
        current_app.logger.error("push: %s", exc)
        return None
    return keys.public_key if keys else None


def _page(form: PreferencesForm | None = None, status: int = 200) -> ResponseReturnValue:
    user = _me()
    if form is None:
        chosen = services.preferences_of(user)
        form = PreferencesForm(reminders=chosen.reminders, lead_minutes=str(chosen.lead_minutes),
                               change_alerts=chosen.change_alerts, announcements=chosen.announcements)
    html = render_template("push/notifications.html", form=form, public_key=_public_key(),
                           devices=len(services.subscriptions_of(user.id)))
    response = current_app.make_response((html, status))
    # One person's page: no shared cache may keep it (the phone's own cache may, like "My agenda").
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/me/notifications")
@signed_in_required
def notifications() -> ResponseReturnValue:
    """The Notifications page: my choices, how many devices get them, and this phone on or off."""
    return _page()


@bp.post("/me/notifications")
@signed_in_required
def save_preferences() -> ResponseReturnValue:
    """Save what I want pushed; a bad choice shows the page again with the error (400)."""
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    chosen = services.Preferences(reminders=form.reminders.data, lead_minutes=int(form.lead_minutes.data),
                                  change_alerts=form.change_alerts.data, announcements=form.announcements.data)
    try:
        services.set_preferences(_me(), chosen, now=timeutil.now())
    except services.PushInputError as exc:  # the form checks the same; the service has the last word
        db.session.rollback()
        field = getattr(form, exc.loc, None)
        (field.errors if field is not None else form.form_errors).append(str(exc))
        return _page(form, status=400)
    db.session.commit()
    flash("Your notification choices are saved.")
    return redirect(url_for(".notifications"), code=303)
