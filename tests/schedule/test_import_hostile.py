"""Hostile schedule files through ``companion schedule import``, on SQLite and on PostgreSQL.

One file per problem class: values the columns cannot hold (PostgreSQL would refuse them with a
raw DataError, SQLite would store them), malformed values (refused, naming the event, writing
nothing), and local times on the nights the clocks change (imported, with a warning).
Run with ``COMPANION_TEST_DATABASE_URL=postgresql://...`` for PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from companion.codes import slugify
from companion.schedule.models import Room, Session, Speaker
from tests.schedule.test_cli import PYTORCH, _snapshot
from tests.schedule.test_import_c3voc_frab import GUID_A, c3voc, event

LABEL = f"event '{'T' * 119}…' (guid {GUID_A})"


def write(tmp_path: Path, data: bytes, name: str = "schedule.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_values_too_long_for_the_columns_import_with_warnings(runner, db, tmp_path):
    long_key = "p" * 250
    data = c3voc(
        event(
            title="T\x00" + "T" * 599,
            language="English (with German translation)",
            room="R" * 201,
            id=2**31,
            slug="s" * 301,
            persons=[{"guid": long_key, "name": "Ada\x00 Lovelace"}],
        )
    )
    path = write(tmp_path, data)

    result = runner.invoke(args=["schedule", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "added 1, changed 0, cancelled 0, unchanged 0"
    assert f"warning: {LABEL}: title longer than 500 characters, shortened" in result.stderr
    assert f"warning: {LABEL}: language longer than 20 characters, shortened" in result.stderr
    assert f"warning: {LABEL}: id 2147483648 is out of range, left out" in result.stderr
    session = db.scalars(select(Session)).one()
    assert (session.title, session.language) == ("T" * 499 + "…", "English (with Germa…")
    assert (session.external_id, session.slug) == (None, "s" * 300)
    room = db.scalars(select(Room)).one()
    assert (room.name, room.slug) == ("R" * 119 + "…", slugify("R" * 119))
    speaker = db.scalars(select(Speaker)).one()
    assert speaker.source_key == "sha256:" + hashlib.sha256(long_key.encode()).hexdigest()
    assert speaker.name == "Ada Lovelace"
    db.rollback()

    again = runner.invoke(args=["schedule", "import", str(path)])  # the keys are stable

    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "added 0, changed 0, cancelled 0, unchanged 1"


@pytest.mark.parametrize(
    ("fields", "conference", "message"),
    [
        (
            {"date": None, "start": "25:00"},
            {},
            f"event 'Talk' (guid {GUID_A}): start '25:00' is not a time of day (00:00 to 23:59)",
        ),
        (
            {"date": "0001-01-01T00:00+01:00"},
            {},
            f"event 'Talk' (guid {GUID_A}): date 0001-01-01T00:00:00+01:00 is out of range "
            "(the years 1900 to 2999)",
        ),
        (
            {"duration": "99999999:00:00"},
            {},
            f"event 'Talk' (guid {GUID_A}): duration '99999999:00:00' puts the end of the event "
            "outside the years 1900 to 2999",
        ),
        ({}, {"rooms": 5}, "'schedule.conference.rooms' is 5, not a list of rooms"),
    ],
    ids=["start-25h", "year-1", "huge-duration", "rooms-5"],
)
def test_malformed_values_are_refused_and_write_nothing(
    runner, db, tmp_path, fields, conference, message
):
    runner.invoke(args=["schedule", "import", str(PYTORCH)])
    before = _snapshot(db)
    db.rollback()
    path = write(tmp_path, c3voc(event(**fields), **conference))

    result = runner.invoke(args=["schedule", "import", str(path)])

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == f"Error: {path}: {message}. Nothing was imported."
    assert _snapshot(db) == before


def test_times_on_the_clock_change_nights_import_with_warnings(runner, db, tmp_path):
    data = c3voc(
        event(title="Twice", date="2026-10-25T02:30:00"),
        event(guid=None, id=2, title="Never", date="2026-03-29T02:30:00", room="Side"),
    )
    path = write(tmp_path, data)

    result = runner.invoke(args=["schedule", "import", str(path), "--timezone", "Europe/Paris"])

    assert result.exit_code == 0, result.output
    assert (
        f"warning: event 'Twice' (guid {GUID_A}): 02:30 on 2026-10-25 happens twice in "
        "Europe/Paris (clocks go back); taken as the first, 02:30 CEST"
    ) in result.stderr.splitlines()
    assert (
        "warning: event 'Never' (id 2): 02:30 on 2026-03-29 does not exist in Europe/Paris "
        "(clocks go forward); taken as 03:30 CEST"
    ) in result.stderr.splitlines()
    starts = dict(db.execute(select(Session.title, Session.starts_at)).all())
    assert starts == {
        "Twice": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        "Never": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    }


def test_nul_in_every_kind_of_text_is_stored_without_it(runner, db, tmp_path):
    document = json.loads(c3voc(event(title="Ta\x00lk", abstract="a\x00b", room="Ha\x00ll")))
    document["schedule"]["conference"]["title"] = "Con\x00f"
    path = write(tmp_path, json.dumps(document).encode())

    result = runner.invoke(args=["schedule", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert db.execute(select(Session.title, Session.abstract)).one() == ("Talk", "ab")
    assert db.scalar(select(Room.name)) == "Hall"
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 1
