"""Badge and check-in commands: check an attendee in (once), reissue a lost badge.

Services flush; the caller commits once. ``now`` and the token factory are parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from companion.accounts.models import Attendee, User
from companion.accounts.services import record
from companion.accounts.tokens import new_badge_token
from companion.badges.queries import checked_in_by_name
from companion.extensions import db
from companion.timeutil import as_utc


@dataclass(frozen=True)
class CheckInResult:
    """The outcome of a check-in: ``newly`` False means the attendee was already in.

    ``at`` and ``by_name`` are those of the first check-in, whoever asks later.
    ``by_name`` is None if that staff account has since been deleted.
    """

    newly: bool
    at: datetime
    by_name: str | None


def check_in(attendee: Attendee, *, staff: User, now: datetime) -> CheckInResult:
    """Check ``attendee`` in, once: a second check-in changes nothing and says who was first.

    One conditional UPDATE (``... WHERE checked_in_at IS NULL``): of two doors scanning the same
    badge at the same moment, exactly one wins on SQLite and PostgreSQL alike; the other reads
    the winner's time and name.
    """
    result = db.session.execute(
        update(Attendee)
        .where(Attendee.id == attendee.id, Attendee.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by_id=staff.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(attendee, ["checked_in_at", "checked_in_by_id", "checked_in_by"])
    if result.rowcount == 1:
        record(staff, "attendee.check_in", attendee.user.email, now=now, attendee_id=attendee.id)
        db.session.flush()
        return CheckInResult(newly=True, at=as_utc(now), by_name=staff.name)
    at, by_name = checked_in_by_name(attendee.id)
    if at is None:  # pragma: no cover - the row was deleted between the update and this read
        raise LookupError(f"attendee {attendee.id} no longer exists")
    return CheckInResult(newly=False, at=at, by_name=by_name)


def reissue_badge(attendee: Attendee, *, staff: User, now: datetime,
                  make_token: Callable[[], str] = new_badge_token) -> str:
    """Give ``attendee`` a new badge token; the old one stops working with this transaction.

    Recorded in the audit log (without either token: the log must not hold a working badge).

    :return: the new token.
    """
    attendee.badge_token = make_token()
    attendee.updated_at = now
    record(staff, "badge.reissue", attendee.user.email, now=now, attendee_id=attendee.id)
    db.session.flush()
    return attendee.badge_token
