"""Sign-in and sign-out pages.

Attendees sign in with a link sent by mail; staff with a password (or a link). The link page
asks for one click before it signs in, because mail scanners open links on their own and would
otherwise use up the single-use link before the person does.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from companion import mail, timeutil
from companion.accounts import services
from companion.accounts.access import signed_in_required
from companion.accounts.forms import ConfirmForm, EmailLinkForm, PasswordForm
from companion.extensions import db, limiter
from companion.schedule.queries import get_conference
from companion.urls import external_url

log = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__)


def _per_address_limit() -> str:
    # Per client address: a venue's Wi-Fi puts hundreds of attendees behind one, so this is
    # generous (SIGN_IN_RATE_LIMIT); the per-email limits stop anyone mailing one person repeatedly.
    return str(current_app.config["SIGN_IN_RATE_LIMIT"])


def _email_key() -> str:
    """Rate-limit key of the sign-in forms: the address asked for (not the client)."""
    address = (request.form.get("email") or "").strip().lower()
    return f"email:{address[:254]}"


def _safe_next(default: str) -> str:
    """Where to go after signing in: a local path only (no open redirect)."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    # Browsers read "/\\evil.com" as "//evil.com": no backslashes, no control characters.
    if any(ch == "\\" or ord(ch) < 32 for ch in target):
        return default
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


def _home_for(user: services.User) -> str:
    if user.role in ("admin", "staff"):
        return url_for("staff.home")
    if user.attendee is not None:
        return url_for("badges.my_badge")
    return url_for("schedule.index")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", key_func=_email_key, methods=["POST"])
@limiter.limit(_per_address_limit, methods=["POST"])
def sign_in() -> ResponseReturnValue:
    """Ask for a sign-in link. The answer is the same whether the address has an account or not."""
    form = EmailLinkForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("accounts/sign_in.html", form=form, next=_safe_next("")), status
    now = timeutil.now()
    user = services.user_by_email(form.email.data)
    if user is not None:
        token = services.create_sign_in_link(user, now=now)
        db.session.commit()
        link = external_url("accounts.use_link", token=token, next=_safe_next("") or None)
        conference = get_conference()
        title = conference.title if conference else "Conference Companion"
        message = mail.build_message(
            user.email,
            f"Your sign-in link for {title}",
            f"Hello {user.name},\n\nOpen this link on your phone to sign in to {title}:\n\n{link}\n\n"
            "It works once, within 15 minutes. If you did not ask for it, ignore this mail.\n",
        )
        try:
            mail.send(message)
        except OSError:
            # Same answer to the person either way (no account discovery); staff see the log.
            log.exception("could not send the sign-in mail to user %s", user.id)
    return render_template("accounts/link_sent.html", email=form.email.data)


@bp.get("/sign-in/<token>")
def use_link(token: str) -> ResponseReturnValue:
    """The page a sign-in link opens: one button, so mail scanners cannot use the link up."""
    if len(token) > 100:
        abort(404)
    return render_template("accounts/use_link.html", form=ConfirmForm(), token=token, next=_safe_next(""))


@bp.post("/sign-in/<token>")
@limiter.limit(_per_address_limit)
def redeem_link(token: str) -> ResponseReturnValue:
    """Sign in with the link's token, once."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the link from your mail again.")
    try:
        user = services.redeem_sign_in_link(token[:100], now=timeutil.now())
    except services.SignInLinkError as exc:
        db.session.rollback()
        return render_template("accounts/link_failed.html", message=str(exc), reason=exc.reason), 400
    db.session.commit()
    login_user(user, remember=True)
    return redirect(_safe_next(_home_for(user)))


@bp.route("/staff/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_email_key, methods=["POST"])
@limiter.limit(_per_address_limit, methods=["POST"])
def staff_sign_in() -> ResponseReturnValue:
    """Staff sign in with their password."""
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        user = services.check_password(form.email.data, form.password.data)
        if user is not None:
            user.last_sign_in_at = timeutil.now()
            db.session.commit()
            login_user(user, remember=True)
            return redirect(_safe_next(_home_for(user)))
        error = "That email address and password do not match."
    status = 400 if request.method == "POST" else 200
    return render_template("accounts/staff_sign_in.html", form=form, error=error, next=_safe_next("")), status


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Sign out of this device."""
    form = ConfirmForm()
    if form.validate_on_submit():
        logout_user()
    return redirect(url_for("schedule.index"))


@bp.post("/sign-out-everywhere")
@signed_in_required
def sign_out_everywhere() -> ResponseReturnValue:
    """Sign out of every device (a lost phone): every existing session stops working."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    services.sign_out_everywhere(current_user._get_current_object())  # noqa: SLF001
    db.session.commit()
    logout_user()
    return redirect(url_for("accounts.sign_in"))


@bp.get("/me")
@signed_in_required
def account() -> ResponseReturnValue:
    """The person's account page: who they are, sign out, their data."""
    return render_template("accounts/account.html", form=ConfirmForm(), user=current_user)
