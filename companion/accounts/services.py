"""Account services: people, roles, sign-in links, passwords, sign-out everywhere, audit.

Services flush; the caller (view, command) commits once. Time and token factories are parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from companion.accounts.models import ROLES, AuditEvent, SignInToken, User
from companion.accounts.tokens import new_token, token_hash
from companion.extensions import db

SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


class AccountError(Exception):
    """A request about an account that cannot be honoured; ``str()`` says why, for a person."""


class SignInLinkError(AccountError):
    """A sign-in link that does not work: ``reason`` is ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise_email(address: str) -> str:
    """The canonical form of an email address: syntax checked, domain and local part lowercased.

    :raise AccountError: if ``address`` is not a valid email address.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"{address.strip()!r} is not a valid email address: {exc}") from exc
    # Mail systems treat local parts case-insensitively in practice; registration systems disagree
    # on case, and one person must not end up with two accounts.
    return result.normalized.lower()


def user_by_email(address: str) -> User | None:
    """The person with this email address (any case), or None."""
    try:
        email = normalise_email(address)
    except AccountError:
        return None
    return db.session.scalars(select(User).where(User.email == email)).first()


def create_user(email: str, name: str, *, now: datetime, role: str | None = None) -> User:
    """Add a person.

    :raise AccountError: for an invalid address, an unknown role, or an address already in use.
    """
    if role is not None and role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    normalised = normalise_email(email)
    if db.session.scalars(select(User.id).where(User.email == normalised)).first() is not None:
        raise AccountError(f"{normalised} already has an account")
    user = User(email=normalised, name=name.strip() or normalised, role=role, created_at=now, session_version=1)
    db.session.add(user)
    db.session.flush()
    return user


def set_role(user: User, role: str | None, *, booth_code: str | None = None, actor: User | None, now: datetime) -> None:
    """Give ``user`` a role (or none), recorded in the audit log.

    :raise AccountError: for an unknown role, or a booth role without a booth.
    """
    if role is not None and role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "booth" and not booth_code:
        raise AccountError("a booth account needs the booth it works for")
    old = user.role
    user.role = role
    user.booth_code = booth_code if role == "booth" else None
    record(actor, "role.set", user.email, now=now, old=old, new=role, booth=user.booth_code)
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """Store a scrypt hash of ``password`` (werkzeug's default, salted, memory-hard).

    :raise AccountError: if the password is shorter than :data:`MIN_PASSWORD_LENGTH`.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password, method="scrypt")
    db.session.flush()


def check_password(email: str, password: str) -> User | None:
    """The staff member with this address and password, or None (no hint which part was wrong)."""
    user = user_by_email(email)
    if user is None or not user.password_hash:
        # Hash anyway, so the answer takes as long for unknown addresses.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def create_sign_in_link(user: User, *, now: datetime, make_token: Callable[[], str] = new_token) -> str:
    """A new single-use sign-in token for ``user``, valid for 15 minutes; only its hash is stored.

    :return: the raw token, to put in the link (it is not kept anywhere else).
    """
    token = make_token()
    db.session.add(SignInToken(user_id=user.id, token_hash=token_hash(token), created_at=now,
                               expires_at=now + SIGN_IN_LINK_LIFETIME))
    db.session.flush()
    return token


def redeem_sign_in_link(token: str, *, now: datetime) -> User:
    """Use a sign-in token: it works once, within its lifetime.

    The use is one conditional UPDATE, so two requests racing with the same link cannot both win.

    :raise SignInLinkError: if the token is unknown (or forged), already used, or expired.
    """
    hashed = token_hash(token)
    result = db.session.execute(
        update(SignInToken)
        .where(SignInToken.token_hash == hashed, SignInToken.used_at.is_(None), SignInToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        user = db.session.scalars(select(User).join(SignInToken, SignInToken.user_id == User.id)
                                  .where(SignInToken.token_hash == hashed)).one()
        user.last_sign_in_at = now
        db.session.flush()
        return user
    found = db.session.scalars(select(SignInToken).where(SignInToken.token_hash == hashed)).first()
    if found is None:
        raise SignInLinkError("unknown", "This sign-in link is not valid. Ask for a new one.")
    if found.used_at is not None:
        raise SignInLinkError("used", "This sign-in link has already been used. Each link works once: ask for a new one.")
    raise SignInLinkError("expired", "This sign-in link has expired (links work for 15 minutes). Ask for a new one.")


def sign_out_everywhere(user: User) -> None:
    """End every session of ``user`` on every device (their login ids go stale)."""
    db.session.execute(
        update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    # A link still waiting in a lost phone's mailbox must not sign anyone in either.
    db.session.execute(
        update(SignInToken).where(SignInToken.user_id == user.id, SignInToken.used_at.is_(None))
        .values(used_at=SignInToken.created_at).execution_options(synchronize_session=False)
    )
    db.session.refresh(user)


def record(actor: User | None, action: str, subject: str | None, *, now: datetime, **details: Any) -> AuditEvent:
    """Add an audit event: who (``actor``, None for the system), did what, to what, when."""
    event = AuditEvent(at=now, actor_id=actor.id if actor else None, action=action, subject=subject, details=details)
    db.session.add(event)
    return event
