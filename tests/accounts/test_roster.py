"""The roster service: adds, updates, leaves alone, refuses; by registration id, else by email."""

from __future__ import annotations

from itertools import count

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select

from companion.accounts.importing import RowProblem, attendee_rows, auto_map, read_csv
from companion.accounts.models import Attendee, AuditEvent, User
from companion.accounts.roster import InvalidRows, import_attendees
from companion.extensions import db as _db
from tests.concurrency import run_at_once
from tests.accounts.factories import make_attendee, make_user
from tests.dbwrites import rows_written_during

HEADER = "Email,Name,Company,Ticket Type,Registration ID\n"
THREE = HEADER + ("ada@example.org,Ada Lovelace,Analytical Engines,Conference,R-1\n"
                  "grace@example.org,Grace Hopper,US Navy,Workshop,R-2\n"
                  "alan@example.org,Alan Turing,,Conference,R-3\n")


def _rows(text: str):
    table = read_csv(text.encode())
    return attendee_rows(table, auto_map(table.headers))


_tokens = count(1)


@pytest.fixture(autouse=True)
def _fresh_badge_tokens() -> None:
    """Badge tokens badge-00001, badge-00002 ... in the order imports hand them out, per test."""
    global _tokens  # noqa: PLW0603
    _tokens = count(1)


def _import(text: str, *, now, skip_invalid: bool = False, actor=None):
    report = import_attendees(_rows(text), now=now, skip_invalid=skip_invalid, actor=actor, filename="roster.csv",
                              make_badge_token=lambda: f"badge-{next(_tokens):05d}")
    _db.session.commit()
    return report


def _roster(db) -> list[tuple]:
    return db.execute(
        select(User.email, User.name, User.role, Attendee.company, Attendee.ticket_type, Attendee.registration_id,
               Attendee.badge_token, Attendee.language, Attendee.updated_at)
        .join(Attendee, Attendee.user_id == User.id).order_by(User.email)).all()


def _snapshot(db) -> dict[str, list]:
    return {"roster": _roster(db), "users": db.execute(select(User.id, User.email, User.name).order_by(User.id)).all(),
            "audit": db.execute(select(AuditEvent.action, AuditEvent.subject)).all()}


def test_first_import_adds_everyone_with_a_badge(db, clock):
    report = _import(THREE, now=clock.moment)

    assert report.summary() == "added 3, updated 0, unchanged 0, skipped 0"
    assert _roster(db) == [
        ("ada@example.org", "Ada Lovelace", None, "Analytical Engines", "Conference", "R-1", "badge-00001", None, clock.moment),
        ("alan@example.org", "Alan Turing", None, None, "Conference", "R-3", "badge-00003", None, clock.moment),
        ("grace@example.org", "Grace Hopper", None, "US Navy", "Workshop", "R-2", "badge-00002", None, clock.moment),
    ]
    event_ = db.scalars(select(AuditEvent)).one()
    assert (event_.action, event_.subject, event_.actor_id, event_.at) == ("attendees.import", "roster.csv", None, clock.moment)
    assert event_.details == {"added": 3, "updated": 0, "unchanged": 0, "skipped": 0}


def test_unchanged_reimport_writes_nothing(db, clock):
    _import(THREE, now=clock.moment)
    before = _snapshot(db)
    db.rollback()
    reports = []

    statements = rows_written_during(lambda: reports.append(_import(THREE, now=clock.moment)))

    assert statements == []
    assert reports[0].summary() == "added 0, updated 0, unchanged 3, skipped 0"
    assert _snapshot(db) == before


def test_registration_id_match_updates_changed_email_and_fields(db, clock):
    _import(THREE, now=clock.moment)
    ada_id = db.scalar(select(User.id).where(User.email == "ada@example.org"))
    later = clock.moment.replace(hour=12)
    changed = THREE.replace("ada@example.org,Ada Lovelace,Analytical Engines",
                            "ada.l@example.org,Ada King,Difference Engines")

    report = _import(changed, now=later)

    assert report.summary() == "added 0, updated 1, unchanged 2, skipped 0"
    ada = db.get(User, ada_id)
    assert (ada.email, ada.name, ada.attendee.company, ada.attendee.badge_token, ada.attendee.updated_at) == (
        "ada.l@example.org", "Ada King", "Difference Engines", "badge-00001", later)
    assert db.scalar(select(sa.func.count()).select_from(User)) == 3


def test_email_match_without_registration_id_keeps_it_and_clears_empty_mapped_fields(db, clock):
    make_attendee(email="ada@example.org", name="Ada", company="Old Corp", ticket_type="Day", registration_id="R-9")

    report = _import("Email,Name,Company\nADA@example.org,Ada Lovelace,\n", now=clock.moment)

    assert report.summary() == "added 0, updated 1, unchanged 0, skipped 0"
    assert _roster(db)[0][:6] == ("ada@example.org", "Ada Lovelace", None, None, "Day", "R-9")


def test_staff_member_with_a_ticket_gets_an_attendee_profile(db, clock):
    staff = make_user(email="sam@example.org", name="Sam", role="staff")

    report = _import("Email,Name,Order ID\nsam@example.org,Sam Staff,R-7\n", now=clock.moment)

    assert report.summary() == "added 1, updated 0, unchanged 0, skipped 0"
    assert _roster(db) == [("sam@example.org", "Sam Staff", "staff", None, None, "R-7", "badge-00001", None, clock.moment)]
    assert db.scalar(select(Attendee.user_id)) == staff.id


def test_registration_id_of_another_persons_email_is_a_conflict(db, clock):
    make_attendee(email="ada@example.org", registration_id="R-1")
    make_user(email="bob@example.org")
    before = _snapshot(db)
    db.rollback()

    with pytest.raises(InvalidRows) as caught:
        import_attendees(_rows(HEADER + "bob@example.org,Bob,,,R-1\n"), now=clock.moment, skip_invalid=False, actor=None)
    db.rollback()

    assert caught.value.problems == [RowProblem(2, "the registration id R-1 belongs to ada@example.org, and "
                                                   "bob@example.org is another person's address")]
    assert str(caught.value) == "1 row is not valid: nothing was imported."
    assert _snapshot(db) == before


def test_an_import_never_changes_a_staff_accounts_address(db, clock):
    make_attendee(email="admin@example.org", registration_id="R-9", role="admin")
    before = _snapshot(db)
    db.rollback()

    with pytest.raises(InvalidRows) as caught:
        import_attendees(_rows(HEADER + "attacker@evil.example,Mallory,,,R-9\n"), now=clock.moment,
                         skip_invalid=False, actor=None)
    db.rollback()

    assert caught.value.problems == [RowProblem(2, "the registration id R-9 belongs to admin@example.org, an account "
                                                   "with the admin role: its address is not changed by an import "
                                                   "(an admin changes it on /staff/accounts)")]
    assert _snapshot(db) == before


def test_two_rows_about_one_stored_person_are_both_refused(db, clock):
    make_attendee(email="ada@example.org", registration_id="R-1")

    with pytest.raises(InvalidRows) as caught:
        import_attendees(_rows(HEADER + "ada.new@example.org,Ada,,,R-1\nada@example.org,Ada,,,R-5\n"),
                         now=clock.moment, skip_invalid=False, actor=None)

    assert caught.value.problems == [
        RowProblem(2, "lines 2, 3 are all about the person stored as ada@example.org"),
        RowProblem(3, "lines 2, 3 are all about the person stored as ada@example.org"),
    ]


def test_invalid_rows_without_skip_write_nothing_at_all(db, clock):
    _import(THREE, now=clock.moment)
    before = _snapshot(db)
    db.rollback()
    bad = THREE.replace("Grace Hopper,US Navy", "Grace Hopper,Navy") + "not-an-email,Nobody,,,R-4\nnew@example.org,New,,,R-5\n"
    errors = []

    def run() -> None:
        try:
            import_attendees(_rows(bad), now=clock.moment, skip_invalid=False, actor=None)
        except InvalidRows as exc:
            errors.append(exc.problems)
        _db.session.rollback()

    statements = rows_written_during(run)

    assert statements == []
    assert errors == [[RowProblem(5, "'not-an-email' is not a valid email address: An email address must have an @-sign.")]]
    assert _snapshot(db) == before


def test_skip_invalid_imports_the_rest_and_counts_the_skipped(db, clock):
    _import(THREE, now=clock.moment)
    actor = make_user(role="admin")
    text = THREE + "bob@example.org,Bob,,,R-1\nnew@example.org,New Person,,,R-5\n,Nameless,,,\n"

    report = _import(text, now=clock.moment, skip_invalid=True, actor=actor)

    assert report.summary() == "added 1, updated 0, unchanged 2, skipped 3"
    assert [p.line for p in report.problems] == [2, 5, 7]
    assert [row[0] for row in _roster(db)] == [
        "ada@example.org", "alan@example.org", "grace@example.org", "new@example.org"]
    audit = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()[-1]
    assert (audit.actor_id, audit.details) == (actor.id, {"added": 1, "updated": 0, "unchanged": 2, "skipped": 3})


def test_ten_thousand_rows_take_a_few_queries(db, clock):
    make_attendee(email="person00042@example.org", registration_id="R-00042", company="Old")
    text = HEADER + "".join(f"person{n:05d}@example.org,Person {n},Company {n % 50},Conference,R-{n:05d}\n"
                            for n in range(10_000))
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        report = _import(text, now=clock.moment)
        again = _import(text, now=clock.moment)
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)

    assert report.summary() == "added 9999, updated 1, unchanged 0, skipped 0"
    assert again.summary() == "added 0, updated 0, unchanged 10000, skipped 0"
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 10_000
    # Inserts go out in batches (insertmanyvalues); reads happen once, never per row.
    assert sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")) <= 80


def test_concurrent_imports_of_one_file_store_everyone_once(app, db, clock):
    writers = 8
    text = HEADER + "".join(f"p{n}@example.org,Person {n},,Conference,R-{n}\n" for n in range(40))
    def writer(_: int) -> str:
        return import_attendees(_rows(text), now=clock.moment, skip_invalid=False, actor=None).summary()

    summaries = run_at_once(app, writers, writer)

    assert sorted(summaries) == ["added 0, updated 0, unchanged 40, skipped 0"] * (writers - 1) + [
        "added 40, updated 0, unchanged 0, skipped 0"]
    assert db.scalar(select(sa.func.count()).select_from(User)) == 40
    assert db.scalar(select(sa.func.count(sa.distinct(Attendee.badge_token)))) == 40
    assert db.scalar(select(sa.func.count()).select_from(AuditEvent)) == 1
