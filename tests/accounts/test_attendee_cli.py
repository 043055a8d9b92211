"""`companion attendees import`: the summary line, dry runs, refusals that write nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from companion.accounts.models import Attendee, AuditEvent, User

EVENTBRITE = ("Order #,First Name,Last Name,Email,Ticket Type,Attendee #,Company\n"
              "1001,Ada,Lovelace,ada@example.org,Conference,A-1,Analytical Engines\n"
              "1001,Charles,Babbage,charles@example.org,Conference,A-2,Analytical Engines\n"
              "1002,Grace,Hopper,grace@example.org,Workshop,A-3,\n")


def _file(tmp_path, text: str, name: str = "attendees.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _people(db) -> list[tuple]:
    return db.execute(select(User.email, User.name, Attendee.registration_id, Attendee.ticket_type, Attendee.company)
                      .join(Attendee, Attendee.user_id == User.id).order_by(User.email)).all()


def _count(db, model) -> int:
    return db.scalar(select(sa.func.count()).select_from(model))


def test_import_prints_the_summary_and_stores_people(runner, db, tmp_path):
    result = runner.invoke(args=["attendees", "import", str(_file(tmp_path, EVENTBRITE))])

    assert result.exit_code == 0, result.output
    assert result.stdout == "added 3, updated 0, unchanged 0, skipped 0\n"
    assert ("columns: first_name <- 'First Name', last_name <- 'Last Name', email <- 'Email', "
            "ticket_type <- 'Ticket Type', registration_id <- 'Attendee #', company <- 'Company'.") in result.stderr
    assert _people(db) == [
        ("ada@example.org", "Ada Lovelace", "A-1", "Conference", "Analytical Engines"),
        ("charles@example.org", "Charles Babbage", "A-2", "Conference", "Analytical Engines"),
        ("grace@example.org", "Grace Hopper", "A-3", "Workshop", None),
    ]
    assert db.execute(select(AuditEvent.action, AuditEvent.subject)).all() == [("attendees.import", "attendees.csv")]


def test_reimport_with_a_change_counts_it(runner, db, tmp_path):
    runner.invoke(args=["attendees", "import", str(_file(tmp_path, EVENTBRITE))])
    changed = EVENTBRITE.replace("Workshop,A-3,", "Conference,A-3,US Navy")

    result = runner.invoke(args=["attendees", "import", str(_file(tmp_path, changed, "v2.csv"))])

    assert result.exit_code == 0, result.output
    assert result.stdout == "added 0, updated 1, unchanged 2, skipped 0\n"
    assert _people(db)[2] == ("grace@example.org", "Grace Hopper", "A-3", "Conference", "US Navy")


def test_dry_run_writes_nothing(runner, db, tmp_path):
    result = runner.invoke(args=["attendees", "import", "--dry-run", str(_file(tmp_path, EVENTBRITE))])

    assert result.exit_code == 0, result.output
    assert result.stdout == "dry run, nothing written: added 3, updated 0, unchanged 0, skipped 0\n"
    assert (_count(db, User), _count(db, Attendee), _count(db, AuditEvent)) == (0, 0, 0)


def test_invalid_rows_exit_1_with_the_report_and_write_nothing(runner, db, tmp_path):
    bad = EVENTBRITE + "1003,Alan,Turing,alan(at)example.org,Conference,A-4,\n1004,,,,Conference,A-5,\n"

    result = runner.invoke(args=["attendees", "import", str(_file(tmp_path, bad))])

    assert result.exit_code == 1
    assert result.stdout == (
        "line 5: 'alan(at)example.org' is not a valid email address: An email address must have an @-sign.\n"
        "line 6: no email address; no name\n")
    assert result.stderr.endswith(
        "Error: " + str(tmp_path / "attendees.csv") + ": 2 rows are not valid: nothing was imported. "
        "Fix the file, or import the valid rows with --skip-invalid.\n")
    assert (_count(db, User), _count(db, Attendee), _count(db, AuditEvent)) == (0, 0, 0)


def test_skip_invalid_imports_the_rest(runner, db, tmp_path):
    bad = EVENTBRITE + "1003,Alan,Turing,alan(at)example.org,Conference,A-4,\n"

    result = runner.invoke(args=["attendees", "import", "--skip-invalid", str(_file(tmp_path, bad))])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "line 5: skipped: 'alan(at)example.org' is not a valid email address: An email address must have an @-sign.",
        "added 3, updated 0, unchanged 0, skipped 1",
    ]
    assert _count(db, Attendee) == 3


def test_map_and_delimiter_options(runner, db, tmp_path):
    text = "Mail\tWho\tFirma\nada@example.org\tAda\tEngines; Ltd.\n"

    result = runner.invoke(args=["attendees", "import", "--delimiter", "\\t", "--map", "Mail=email",
                                 "--map", "who=name", "--map", "Firma=company", str(_file(tmp_path, text))])

    assert result.exit_code == 0, result.output
    assert result.stdout == "added 1, updated 0, unchanged 0, skipped 0\n"
    assert _people(db) == [("ada@example.org", "Ada", None, None, "Engines; Ltd.")]


def test_file_level_problems_are_one_clear_error(runner, db, tmp_path):
    latin1 = _file(tmp_path, "Email,Name\nzoe@example.org,Zoë\n", "latin1.csv", encoding="latin-1")
    no_email = _file(tmp_path, "Name,Company\nAda,Engines\n", "no-email.csv")

    encoding = runner.invoke(args=["attendees", "import", str(latin1)])
    columns = runner.invoke(args=["attendees", "import", str(no_email)])
    delimiter = runner.invoke(args=["attendees", "import", "--delimiter", "|", str(no_email)])

    assert (encoding.exit_code, columns.exit_code, delimiter.exit_code) == (1, 1, 2)
    assert encoding.stderr == (f"Error: {latin1}: not valid UTF-8 at line 2, column 19: save the file as UTF-8. "
                               "Nothing was imported.\n")
    assert columns.stderr.startswith(f"Error: {no_email}: no email column. The header has: 'Name', 'Company'.")
    assert "Invalid value for '--delimiter': use ',', ';' or tab (\\t)" in delimiter.stderr
    assert _count(db, User) == 0
