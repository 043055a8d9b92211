"""Who may do what: Flask-Login set-up and the decorators every protected view wears.

The decorators leave a ``required_roles`` mark on the view, so the route-inventory test finds
every protected route by itself, including routes added by later features.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, user_logged_in, user_logged_out
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from companion.accounts.models import Attendee, User
from companion.errors import Problem, wants_json
from companion.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

ROLE_NAMES = {"admin": "admins", "staff": "staff", "booth": "booth staff"}


@functools.cache
def _user_with_profile() -> Select[tuple[User]]:
    # With the attendee profile: most pages and every vote or stamp ask for it next. Built once:
    # every request runs it, and session.get() would build and key a new statement each time.
    return select(User).options(joinedload(User.attendee)).where(User.id == bindparam("user_id"))


def _load_user(login_id: str) -> User | None:
    user_id, _, version = login_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.execute(_user_with_profile(), {"user_id": int(user_id)}).scalar_one_or_none()
    if user is None or user.session_version != int(version):
        return None  # signed out everywhere since this session began
    return user


def _unauthorized() -> Response:
    if wants_json():
        raise Problem(401, "Sign in first: this needs an account.", title="Unauthorized")
    return redirect(url_for("accounts.sign_in", next=request.full_path.rstrip("?")))


def _session_identifier() -> str:
    # Flask-Login's "strong" protection ties a session to the client. Its default identifier
    # includes the IP address, but phones hop between venue Wi-Fi and mobile data all day and
    # would be signed out at every hop; the browser's user agent is kept as the binding.
    agent = request.headers.get("User-Agent", "")
    return hashlib.sha512(agent.encode("utf-8", "replace")).hexdigest()


def init_app(app: Flask) -> None:
    """Wire Flask-Login into ``app``."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager._session_identifier_generator = _session_identifier  # noqa: SLF001 - documented hook
    user_logged_in.connect(_new_csrf_token, app)
    user_logged_out.connect(_new_csrf_token, app)


def _new_csrf_token(_app: Flask, **_extra: Any) -> None:
    # A new CSRF token at every sign-in and sign-out (Flask-WTF keeps one per browser session
    # otherwise): an action an attendee's phone queued offline carries their token, so if someone
    # else signs in on that phone before it is sent, it is refused instead of done in their name.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def _guard(mark: tuple[str, ...], refuse: Callable[[], None] | None = None) -> Callable[[F], F]:
    """A decorator for views: anonymous people are sent to sign in (401 for programs), ``refuse``
    raises a :class:`Problem` for signed-in people who may not pass, and the view is marked with
    ``required_roles = mark`` for the route inventory.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if refuse is not None:
                refuse()
            return view(*args, **kwargs)

        wrapper.required_roles = mark  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow the view only to signed-in people holding one of ``roles`` (admins hold all)."""

    def refuse() -> None:
        if not current_user.has_role(*roles):
            who = " or ".join(ROLE_NAMES[r] for r in roles)
            raise Problem(403, f"This is for {who} only. You are signed in as {current_user.email}.", title="Forbidden")

    return _guard(roles, refuse)


staff_required = role_required("staff")
admin_required = role_required("admin")


def signed_in_required(view: F) -> F:
    """Allow the view to anyone signed in (attendee or staff)."""
    return _guard(("signed-in",))(view)


def attendee_required(view: F) -> F:
    """Allow the view to signed-in people who have an attendee profile."""

    def refuse() -> None:
        if current_attendee() is None:
            raise Problem(403, "This is for attendees: your account has no attendee registration.", title="Forbidden")

    return _guard(("attendee",), refuse)(view)


def current_attendee() -> Attendee | None:
    """The signed-in person's attendee profile, or None."""
    if not current_user.is_authenticated:
        return None
    return db.session.scalars(select(Attendee).where(Attendee.user_id == current_user.id)).first()
