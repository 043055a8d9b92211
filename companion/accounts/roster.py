"""The attendee roster: bring people and attendee profiles in line with a registration export.

Rows come from :mod:`companion.accounts.importing` with what the file alone shows to be wrong;
this service adds what the database shows (a registration id of someone else, two rows for one
person) and writes nothing unless every row is valid or the caller chose to skip invalid ones.
Everyone is loaded into dicts once: a 10,000-row file costs a handful of queries, not one per row.

What a row changes: the person's email and name; company, ticket type and language when the file
has a column for them (an empty cell clears the field, a missing column keeps it); the registration
id when the row has one (a person matched by email gets the file's new id; an empty cell keeps it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from companion.accounts import services
from companion.accounts.importing import AttendeeRow, RowProblem
from companion.accounts.models import Attendee, User
from companion.accounts.tokens import new_badge_token
from companion.database import lock_for_writing
from companion.extensions import db

PROGRESS_EVERY = 500
_BATCH = 1000  # rows per INSERT: SQLite allows 32,766 parameters in one statement
_ATTENDEE_FIELDS = ("company", "ticket_type", "language")


@dataclass
class AttendeeImportReport:
    """Counts of one import and the rows it could not take; ``summary()`` is the line the CLI prints."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        return bool(self.added or self.updated)

    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, skipped {self.skipped}"


class InvalidRows(services.AccountError):
    """Some rows are not valid and the import was not told to skip them: nothing was written.

    :param problems: the invalid rows with their line numbers and reasons, in file order.
    """

    def __init__(self, problems: list[RowProblem]) -> None:
        count = len(problems)
        super().__init__(f"{count} row{'s are' if count != 1 else ' is'} not valid: nothing was imported.")
        self.problems = problems


class ImportConflict(services.AccountError):
    """Someone else changed the same people while the import ran: nothing was written, try again."""


@dataclass
class _Match:
    row: AttendeeRow
    user: User | None
    attendee: Attendee | None


class _People:
    """Everyone who could match a row, loaded once."""

    def __init__(self) -> None:
        users = db.session.scalars(select(User)).all()
        self.by_email = {u.email: u for u in users}
        self.by_id = {u.id: u for u in users}
        # The users are in the session already: no joined load of each attendee's user.
        attendees = db.session.scalars(select(Attendee).options(lazyload(Attendee.user))).all()
        self.by_registration = {a.registration_id: a for a in attendees if a.registration_id}
        self.by_user_id = {a.user_id: a for a in attendees}

    def match(self, row: AttendeeRow) -> _Match | str:
        """The person ``row`` is about (by registration id, else by email), or why it cannot be anyone."""
        attendee = self.by_registration.get(row.registration_id) if row.registration_id else None
        if attendee is not None:
            user = self.by_id[attendee.user_id]
            other = self.by_email.get(row.email)
            if other is not None and other is not user:
                return (f"the registration id {row.registration_id} belongs to {user.email}, and "
                        f"{row.email} is another person's address")
            if user.role is not None and row.email != user.email:
                # Sign-in links go to the stored address: an import that could change a staff
                # account's address could hand that account to whoever owns the new one.
                return (f"the registration id {row.registration_id} belongs to {user.email}, an account with the {user.role} role: "
                        f"its address is not changed by an import (an admin changes it on /staff/accounts)")
            return _Match(row, user, attendee)
        user = self.by_email.get(row.email)
        return _Match(row, user, self.by_user_id.get(user.id) if user else None)


def _matches(rows: Sequence[AttendeeRow], people: _People) -> tuple[list[_Match], dict[int, str]]:
    """The valid rows matched to people, and the database's objection to each other row, by line."""
    objections: dict[int, str] = {}
    by_person: dict[int, list[_Match]] = defaultdict(list)
    matches: list[_Match] = []
    for row in (row for row in rows if not row.problems):
        match = people.match(row)
        if isinstance(match, str):
            objections[row.line] = match
            continue
        matches.append(match)
        if match.user is not None:
            by_person[match.user.id].append(match)
    # Two rows about one stored person (one by registration id, one by email) cannot both be right.
    for same in (same for same in by_person.values() if len(same) > 1):
        where = ", ".join(str(m.row.line) for m in same)
        for m in same:
            objections[m.row.line] = f"lines {where} are all about the person stored as {same[0].user.email}"
    return [m for m in matches if m.row.line not in objections], objections


def _problems(rows: Sequence[AttendeeRow], objections: dict[int, str]) -> list[RowProblem]:
    return [RowProblem(row.line, "; ".join(row.problems) or objections[row.line])
            for row in rows if row.problems or row.line in objections]


def _assign(target: Any, name: str, value: Any) -> bool:
    """Set ``target.name`` only if it differs, so an unchanged row writes nothing."""
    if getattr(target, name) == value:
        return False
    setattr(target, name, value)
    return True


def _attendee_values(row: AttendeeRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _ATTENDEE_FIELDS if name in row.provided}


def _update(match: _Match, *, now: datetime) -> bool:
    """Bring a stored attendee in line with its row; False if nothing differed (nothing written)."""
    row, user, attendee = match.row, match.user, match.attendee
    assert user is not None and attendee is not None
    changed = _assign(user, "email", row.email) | _assign(user, "name", row.name)
    for name, value in _attendee_values(row).items():
        changed |= _assign(attendee, name, value)
    # A registration id is the link to the registration system: a row without one keeps it.
    if row.registration_id:
        changed |= _assign(attendee, "registration_id", row.registration_id)
    if changed:
        attendee.updated_at = now
    return changed


def _insert(new: Sequence[_Match], *, now: datetime, make_badge_token: Callable[[], str]) -> None:
    """Add people and attendee profiles in batches of multi-row INSERTs (not one per row).

    New accounts come back with their ids by email (unique), so no RETURNING order is needed:
    SQLite cannot promise one for batched inserts.
    """
    people = [m.row for m in new if m.user is None]
    user_ids = {m.row.email: m.user.id for m in new if m.user is not None}  # staff who now have a ticket
    for start in range(0, len(people), _BATCH):
        result = db.session.execute(insert(User).returning(User.id, User.email), [
            {"email": row.email, "name": row.name, "role": None, "session_version": 1, "created_at": now}
            for row in people[start:start + _BATCH]])
        user_ids.update({email: user_id for user_id, email in result})
    attendees = [{"user_id": user_ids[m.row.email], "registration_id": m.row.registration_id,
                  "badge_token": make_badge_token(), "consent_share_contact": False, "created_at": now,
                  "updated_at": now, **{name: None for name in _ATTENDEE_FIELDS}, **_attendee_values(m.row)}
                 for m in new]
    for start in range(0, len(attendees), _BATCH):
        db.session.execute(insert(Attendee), attendees[start:start + _BATCH])


def import_attendees(
    rows: Sequence[AttendeeRow],
    *,
    now: datetime,
    skip_invalid: bool,
    actor: User | None,
    filename: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    make_badge_token: Callable[[], str] = new_badge_token,
) -> AttendeeImportReport:
    """Add and update attendees from ``rows``: by registration id, else by email; flush, do not commit.

    New people get an account without a role and an attendee profile with a new badge token;
    stored people get the changed fields only (an unchanged row writes nothing). Imports of the
    roster are serialised by a write lock, so a second one started at the same time sees the
    first one's result. An audit event records an import that changed something.

    :param rows: the file's rows, from :func:`companion.accounts.importing.attendee_rows`.
    :param skip_invalid: import the valid rows even if some are invalid (they are counted as skipped).
    :param actor: who imports (None: the command line).
    :param filename: the file's name, for the audit log.
    :param progress: called with (rows done, rows to do) every 500 rows.
    :raise InvalidRows: if a row is invalid and ``skip_invalid`` is false; nothing was written.
    :raise ImportConflict: if a unique constraint fails anyway (a concurrent change by another route).
    """
    lock_for_writing(db.session, "attendees")
    matches, objections = _matches(rows, _People())
    problems = _problems(rows, objections)
    if problems and not skip_invalid:
        raise InvalidRows(problems)
    report = AttendeeImportReport(skipped=len(problems), problems=problems)
    new = [m for m in matches if m.attendee is None]
    for done, match in enumerate(matches, 1):
        if match.attendee is None and match.user is not None:  # staff who now have a ticket: added below
            _assign(match.user, "name", match.row.name)
        elif match.attendee is not None and _update(match, now=now):
            report.updated += 1
        elif match.attendee is not None:
            report.unchanged += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, len(matches))
    report.added = len(new)
    try:
        _insert(new, now=now, make_badge_token=make_badge_token)
        if report.wrote:
            services.record(actor, "attendees.import", filename[:200] if filename else None, now=now,
                            added=report.added, updated=report.updated, unchanged=report.unchanged,
                            skipped=report.skipped)
        db.session.flush()
    except IntegrityError as exc:
        raise ImportConflict("Another change to the same people was saved while this import ran; "
                             "nothing was imported. Run the import again.") from exc
    return report
