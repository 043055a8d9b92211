"""My data: everything the app holds about one person, as a download, and deleting the person.

Export
    :func:`export_person` gathers the account, the attendee profile, the person's sign-in links
    (times only, never the hashes) and the audit events they made, as plain JSON values.
    Features added later (agenda, votes, stamps, push subscriptions, raffle entries) add their own
    section by registering an exporter when their module is imported::

        from companion.accounts import my_data
        my_data.register_exporter("agenda", lambda user: [...])  # JSON-ready, only this person's rows

    The name becomes a top-level key of the download; the function gets the :class:`User` and
    returns JSON-ready values (ISO 8601 strings for times). It must return only rows that belong to
    this person: the isolation tests download one attendee's data and look for another's.

Deletion
    :func:`delete_person` removes the account row and, by cascade, the attendee profile (badge,
    check-in, consents) and the sign-in links. Audit events the person made stay, with their
    action, but lose the actor (``actor_id`` is ``ON DELETE SET NULL``); audit events whose subject
    was the person's email address keep the action and show ``(deleted account)`` instead.
    Check-ins this person did as staff keep the check-in time and lose who did it.

    The last admin cannot delete their own account: nobody could manage accounts afterwards.
    Another admin must be appointed first (``companion users create-admin``).

    **Votes and stamps** (and any other row that is counted): their votes and stamps are kept
    without a link to the person (anonymised), so counts stay correct. The README states this
    rule. Each such feature registers a deleter that detaches (sets to NULL) or removes its rows::

        my_data.register_deleter("votes", lambda user, *, now: ...)  # flush, do not commit

    Deleters run before the person's row is deleted, inside the same transaction, so a deleter that
    fails leaves everything as it was. A feature whose rows must go with the person (a personal
    agenda, push subscriptions) deletes them there; one whose rows are counted (votes, stamps,
    raffle entries) keeps them and clears the person's reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, select, update

from companion.accounts.models import Attendee, AuditEvent, SignInToken, User
from companion.accounts.services import AccountError, record
from companion.extensions import db

DELETED_SUBJECT = "(deleted account)"
# Top-level keys of the download that registered exporters cannot take.
RESERVED_SECTIONS = frozenset({"about", "user", "attendee", "sign_in_links", "audit_events"})

Exporter = Callable[[User], Any]


class Deleter(Protocol):
    def __call__(self, user: User, *, now: datetime) -> None: ...


_exporters: dict[str, Exporter] = {}
_deleters: dict[str, Deleter] = {}


class LastAdminError(AccountError):
    """The person is the only admin left, so they cannot delete their own account."""


def register_exporter(name: str, fn: Exporter) -> None:
    """Add a section ``name`` to every person's data download; ``fn(user)`` fills it.

    Registering the same name again replaces the function (modules may be imported twice in tests).

    :raise ValueError: if ``name`` is one of the sections this module writes itself.
    """
    if name in RESERVED_SECTIONS:
        raise ValueError(f"{name!r} is a built-in section of the data download")
    _exporters[name] = fn


def register_deleter(name: str, fn: Deleter) -> None:
    """Run ``fn(user, now=...)`` whenever a person deletes their account, before the row goes.

    The function flushes, it does not commit; it detaches counted rows (votes, stamps) and deletes
    purely personal ones. Registering the same name again replaces the function.
    """
    _deleters[name] = fn


def registered_sections() -> list[str]:
    """The names of the sections later features added to the download, in registration order."""
    return list(_exporters)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _attendee(attendee: Attendee | None) -> dict[str, Any] | None:
    if attendee is None:
        return None
    return {
        "company": attendee.company,
        "ticket_type": attendee.ticket_type,
        "registration_id": attendee.registration_id,
        # Not the badge token itself: a forwarded file must not let anyone print a working badge.
        "has_badge": bool(attendee.badge_token),
        "checked_in_at": _iso(attendee.checked_in_at),
        # The staff member's name only: their address is theirs, not this person's data.
        "checked_in_by": attendee.checked_in_by.name if attendee.checked_in_by else None,
        "consents": {"share_contact_with_booths": attendee.consent_share_contact},
        "language": attendee.language,
        "created_at": _iso(attendee.created_at),
        "updated_at": _iso(attendee.updated_at),
    }


def export_person(user: User) -> dict[str, Any]:
    """Everything the app holds about ``user``, as JSON-ready values.

    :return: ``user``, ``attendee`` (None without a registration), ``sign_in_links``,
        ``audit_events`` (the ones they made), then one key per registered exporter.
    """
    attendee = db.session.scalars(select(Attendee).where(Attendee.user_id == user.id)).first()
    links = db.session.scalars(select(SignInToken).where(SignInToken.user_id == user.id).order_by(SignInToken.id))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.at, AuditEvent.id))
    data: dict[str, Any] = {
        "about": "Everything Conference Companion holds about you at the time of this download.",
        "user": {
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "booth_code": user.booth_code,
            "created_at": _iso(user.created_at),
            "last_sign_in_at": _iso(user.last_sign_in_at),
        },
        "attendee": _attendee(attendee),
        "sign_in_links": [
            {"created_at": _iso(link.created_at), "expires_at": _iso(link.expires_at), "used_at": _iso(link.used_at)}
            for link in links
        ],
        "audit_events": [
            {"at": _iso(event.at), "action": event.action, "subject": event.subject, "details": event.details}
            for event in events
        ],
    }
    for name, exporter in _exporters.items():
        data[name] = exporter(user)
    return data


def delete_person(user: User, *, now: datetime) -> None:
    """Delete ``user`` and their attendee profile; keep what others count, without the person.

    Flushes, does not commit. See the module docstring for what is kept and what goes.

    :raise LastAdminError: if ``user`` is the only admin.
    """
    if user.role == "admin":
        # Lock the admins' rows (PostgreSQL), so two admins deleting themselves at once cannot
        # both see the other one still there and leave nobody.
        admins = db.session.scalars(select(User.id).where(User.role == "admin").with_for_update()).all()
        if list(admins) == [user.id]:
            raise LastAdminError(
                "You are the last admin, so you cannot delete your account: nobody could manage "
                "accounts afterwards. Make someone else an admin first, then delete your account."
            )
    for deleter in _deleters.values():
        deleter(user, now=now)
    had_attendee = db.session.scalars(select(Attendee.id).where(Attendee.user_id == user.id)).first() is not None
    db.session.execute(delete(SignInToken).where(SignInToken.user_id == user.id).execution_options(synchronize_session=False))
    db.session.execute(
        update(AuditEvent).where(AuditEvent.subject == user.email).values(subject=DELETED_SUBJECT)
        .execution_options(synchronize_session=False)
    )
    role = user.role
    db.session.delete(user)  # the attendee profile goes with it (ORM cascade and ON DELETE CASCADE)
    db.session.flush()
    record(None, "account.delete", None, now=now, role=role, attendee=had_attendee)
    db.session.flush()
