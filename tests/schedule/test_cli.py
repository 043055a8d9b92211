"""`companion schedule import|export`: summaries, dry runs, refusals that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from companion.schedule.models import Conference, Room, Session, SessionChange, Speaker
from tests.conftest import SAMPLE_SCHEDULES

PYTORCH = SAMPLE_SCHEDULES / "pytorch-conf-eu-2026.schedule.json"
CCC = SAMPLE_SCHEDULES / "31c3.frab.xml"


def _snapshot(db) -> dict[str, object]:
    """Everything an import could touch, to prove a refused import changed nothing."""
    return {
        "conference": db.execute(select(Conference.title, Conference.schedule_version, Conference.updated_at)).all(),
        "sessions": db.execute(select(Session.source_key, Session.title, Session.starts_at, Session.state, Session.sequence)
                               .order_by(Session.source_key)).all(),
        "speakers": db.scalars(select(Speaker.source_key).order_by(Speaker.source_key)).all(),
        "rooms": db.scalars(select(Room.name).order_by(Room.name)).all(),
        "changes": db.scalar(select(sa.func.count()).select_from(SessionChange)),
    }


def _count_events(path: Path) -> int:
    days = json.loads(path.read_text())["schedule"]["conference"]["days"]
    return sum(len(events) for day in days for events in day["rooms"].values())


def test_import_prints_summary_and_stores_sessions(runner, db):
    expected = _count_events(PYTORCH)

    result = runner.invoke(args=["schedule", "import", str(PYTORCH)])

    assert result.exit_code == 0, result.output
    assert f"added {expected}, changed 0, cancelled 0, unchanged 0" in result.stdout.splitlines()
    assert db.scalar(select(sa.func.count()).select_from(Session)) == expected
    assert db.scalar(select(Conference.timezone)) == "Europe/Paris"


def test_reimport_of_the_same_file_writes_nothing(runner, db):
    runner.invoke(args=["schedule", "import", str(CCC)])
    before = _snapshot(db)
    db.rollback()

    result = runner.invoke(args=["schedule", "import", str(CCC)])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "added 0, changed 0, cancelled 0, unchanged 138"
    assert _snapshot(db) == before


def test_dry_run_shows_changes_and_writes_nothing(runner, db, tmp_path):
    runner.invoke(args=["schedule", "import", str(PYTORCH)])
    document = json.loads(PYTORCH.read_text())
    first_room_events = next(iter(document["schedule"]["conference"]["days"][0]["rooms"].values()))
    moved = first_room_events[0]
    moved["title"] = "A Renamed Talk"
    removed = first_room_events.pop(1)
    changed_file = tmp_path / "changed.json"
    changed_file.write_text(json.dumps(document))
    before = _snapshot(db)
    db.rollback()

    result = runner.invoke(args=["schedule", "import", str(changed_file), "--dry-run"])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    total = _count_events(PYTORCH)
    assert lines[0] == f"dry run, nothing written: added 0, changed 1, cancelled 1, unchanged {total - 2}"
    assert f"  ~ A Renamed Talk (title: {moved_title(PYTORCH)} -> A Renamed Talk)" in lines
    assert f"  x {removed['title']} (cancelled: confirmed -> removed from the schedule)" in lines
    assert _snapshot(db) == before


def moved_title(path: Path) -> str:
    document = json.loads(path.read_text())
    return next(iter(document["schedule"]["conference"]["days"][0]["rooms"].values()))[0]["title"]


def test_refused_files_change_nothing(runner, db, tmp_path):
    runner.invoke(args=["schedule", "import", str(PYTORCH)])
    before = _snapshot(db)
    db.rollback()
    hostile = tmp_path / "bomb.xml"
    hostile.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        "<schedule><conference><title>&lol2;</title></conference></schedule>"
    )
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(PYTORCH.read_text().replace("Central Room", "Salle Étoile").encode("latin-1", "replace"))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(PYTORCH.read_text()[:5000])
    cases = {hostile: "entit", latin1: "UTF-8", truncated: "JSON"}

    for path, words in cases.items():
        result = runner.invoke(args=["schedule", "import", str(path)])
        assert result.exit_code == 1, (path, result.output)
        assert words.lower() in result.output.lower(), result.output
        assert "Nothing was imported" in result.output
        assert _snapshot(db) == before


def test_file_over_the_size_limit_is_refused_before_reading(runner, app, db, tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as handle:  # sparse: no 200 MB written to disk
        handle.truncate(200 * 1024 * 1024)

    result = runner.invoke(args=["schedule", "import", str(big)])

    assert result.exit_code == 1
    assert "209.7 MB, over the import limit of 21.0 MB (COMPANION_MAX_IMPORT_BYTES)" in result.output
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 0


def test_unknown_timezone_is_a_usage_error(runner, db):
    result = runner.invoke(args=["schedule", "import", str(PYTORCH), "--timezone", "Mars/Olympus"])

    assert result.exit_code == 2
    assert "'Mars/Olympus' is not an IANA time zone" in result.output


def test_export_writes_each_format(runner, db, tmp_path):
    runner.invoke(args=["schedule", "import", str(PYTORCH)])

    outputs = {}
    for fmt in ("json", "xml", "ics"):
        target = tmp_path / f"schedule.{fmt}"
        result = runner.invoke(args=["schedule", "export", "--format", fmt, "--output", str(target)])
        assert result.exit_code == 0, result.output
        outputs[fmt] = target.read_bytes()

    assert json.loads(outputs["json"])["schedule"]["conference"]["title"] == "PyTorch Conference Europe 2026"
    assert outputs["xml"].count(b"<event ") == _count_events(PYTORCH)
    assert outputs["ics"].count(b"BEGIN:VEVENT") == _count_events(PYTORCH)


def test_export_before_any_import_says_so(runner, db):
    result = runner.invoke(args=["schedule", "export", "--format", "json"])

    assert result.exit_code == 1
    assert "no schedule" in result.output.lower()


def test_a_time_zone_that_is_a_folder_is_a_usage_error(runner, db):
    result = runner.invoke(args=["schedule", "import", str(PYTORCH), "--timezone", "Europe"])

    assert result.exit_code == 2
    assert "'Europe' is not an IANA time zone" in result.output
