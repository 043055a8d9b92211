"""The sync service: add, change, cancel, and write nothing when nothing changed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import select

from companion.schedule.models import Conference, Room, Session, SessionChange, Speaker
from tests.dbwrites import rows_written_during
from tests.factories import DAY_ONE, load_schedule, small_schedule


def test_apply_schedule_first_import_adds_everything(db):
    report = load_schedule()

    assert report.summary() == "added 6, changed 0, cancelled 0, unchanged 0"
    sessions = db.scalars(select(Session).order_by(Session.starts_at)).all()
    assert [s.title for s in sessions] == [
        "Opening Keynote", "Compilers for Everyone", "Serving Models at Scale",
        "Lightning Talk: Tiny Tensors", "Coffee Break", "Hands-on: Profiling",
    ]
    serving = sessions[2]
    assert serving.room.name == "Junior Stage" and serving.room.building == "Pier 1"
    assert serving.track.name == "Inference & Production"
    assert [sp.name for sp in serving.speakers] == ["Alan Turing", "Ada Lovelace"]
    assert serving.starts_at == DAY_ONE + timedelta(minutes=50)
    assert serving.sequence == 0 and serving.state == "confirmed"
    assert len({s.code for s in sessions}) == 6
    assert db.scalar(select(Conference.schedule_version)) == 1
    assert db.scalar(select(sa.func.count()).select_from(Speaker)) == 3


def test_apply_schedule_reimport_unchanged_writes_nothing(db):
    load_schedule()

    statements = rows_written_during(lambda: (load_schedule(seed=99)))

    assert statements == []
    assert db.scalar(select(Conference.schedule_version)) == 1


def test_apply_schedule_records_time_room_title_and_cancellation(db):
    load_schedule()
    parsed = small_schedule()
    keynote = parsed.sessions[0]
    keynote.start += timedelta(minutes=15)
    keynote.end += timedelta(minutes=15)
    keynote.room = "Junior Stage"
    parsed.sessions[1].title = "Compilers for Everybody"
    parsed.sessions[2].abstract = "New abstract."
    del parsed.sessions[4]  # the coffee break leaves the file
    later = DAY_ONE + timedelta(days=1)

    report = load_schedule(parsed, now=later)

    assert report.summary() == "added 0, changed 3, cancelled 1, unchanged 2"
    changes = db.execute(
        select(Session.source_key, SessionChange.kind, SessionChange.old_value, SessionChange.new_value, SessionChange.changed_at)
        .join(SessionChange.session).order_by(Session.source_key, SessionChange.id)
    ).all()
    assert changes == [
        ("s-break", "cancelled", "confirmed", "removed from the schedule", later),
        ("s-compilers", "title", "Compilers for Everyone", "Compilers for Everybody", later),
        ("s-keynote", "time", "2026-04-07T07:00:00+00:00/2026-04-07T07:30:00+00:00",
         "2026-04-07T07:15:00+00:00/2026-04-07T07:45:00+00:00", later),
        ("s-keynote", "room", "Master Stage", "Junior Stage", later),
        ("s-serving", "details", None, "abstract", later),
    ]
    by_key = {s.source_key: s for s in db.scalars(select(Session))}
    assert by_key["s-break"].state == "cancelled"  # kept, never deleted
    assert {k: s.sequence for k, s in by_key.items()} == {
        "s-keynote": 1, "s-compilers": 1, "s-serving": 1, "s-lightning": 0, "s-break": 1, "s-workshop": 0,
    }
    assert db.scalar(select(Conference.schedule_version)) == 2


def test_apply_schedule_restores_a_session_that_comes_back(db):
    load_schedule()
    parsed = small_schedule()
    removed = parsed.sessions.pop(4)
    load_schedule(parsed)

    parsed.sessions.insert(4, removed)
    report = load_schedule(parsed)

    assert report.summary() == "added 0, changed 1, cancelled 0, unchanged 5"
    session = db.scalars(select(Session).where(Session.source_key == "s-break")).one()
    assert (session.state, session.sequence) == ("confirmed", 2)
    kinds = db.scalars(select(SessionChange.kind).where(SessionChange.session_id == session.id).order_by(SessionChange.id)).all()
    assert kinds == ["cancelled", "restored"]


def test_apply_schedule_keeps_room_details_the_file_does_not_give(db):
    load_schedule()
    parsed = small_schedule()
    for room in parsed.rooms:
        room.building = None
        room.capacity = None

    load_schedule(parsed)

    room = db.scalars(select(Room).where(Room.name == "Founders Cafe")).one()
    assert (room.building, room.capacity, room.slug) == ("Pier 2", 80, "founders-cafe")


def test_apply_schedule_gives_a_shared_guid_to_one_session_only(db):
    parsed = small_schedule()
    shared = "8c4e647f-813e-41ef-b05b-65469dd841c3"
    parsed.sessions[0].guid = shared
    parsed.sessions[1].guid = shared

    load_schedule(parsed)
    load_schedule(parsed)  # and the re-import sees nothing to change

    guids = dict(db.execute(select(Session.source_key, Session.guid)).all())
    assert guids["s-keynote"] == shared
    assert guids["s-compilers"] not in (shared, None)
    assert len(set(guids.values())) == 6
    assert db.scalar(select(Conference.schedule_version)) == 1
