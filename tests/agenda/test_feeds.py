"""Rendering calendars: the personal feed read by two independent parsers, and one event shape everywhere.

The second parser is ``ical`` (PyPI), an implementation of RFC 5545 that shares no code with
``icalendar``: both must read the same UTC start and end as the database holds.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from companion.agenda import feeds
from companion.schedule import queries
from companion.schedule.exporters import ical as ical_export
from companion.schedule.exporters import load_export_data, render_export
from companion.schedule.exporters.ical import EventWriter, session_event, session_uid
from companion.schedule.models import Room, Session, SessionSpeaker, Speaker, Track
from tests.factories import DAY_ONE, load_schedule, small_schedule
from tests.realparts import missing

BASE = "https://conf.example.org/"
TOKEN = "t" * 43


def second_parser_events(body: bytes) -> dict[str, tuple[datetime, datetime, int, str]]:
    """uid -> (start UTC, end UTC, SEQUENCE, STATUS) as the ``ical`` package reads ``body``."""
    try:
        from ical.calendar_stream import IcsCalendarStream
    except ImportError:
        missing("the ical package", "pip install ical (the second, independent iCalendar parser)")
    calendar = IcsCalendarStream.calendar_from_ics(body.decode())
    assert [tz.tz_id for tz in calendar.timezones] in ([], ["Europe/Paris"])
    return {e.uid: (e.dtstart.astimezone(UTC), e.dtend.astimezone(UTC), e.sequence, e.status.value) for e in calendar.events}


def icalendar_events(body: bytes) -> dict[str, tuple[datetime, datetime, int, str]]:
    """uid -> (start UTC, end UTC, SEQUENCE, STATUS) as ``icalendar`` reads ``body``."""
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): (e["DTSTART"].dt.astimezone(UTC), e["DTEND"].dt.astimezone(UTC), e["SEQUENCE"], str(e["STATUS"]))
            for e in calendar.walk("VEVENT")}


def expected_events(sessions: list[Session]) -> dict[str, tuple[datetime, datetime, int, str]]:
    """What the database says, in the same shape."""
    return {session_uid(s): (s.starts_at, s.ends_at, s.sequence, "CANCELLED" if s.is_cancelled else "CONFIRMED")
            for s in sessions}


def _sessions(db, *keys: str) -> list[Session]:
    return [db.scalars(select(Session).where(Session.source_key == key)).one() for key in keys]


def _feed(sessions: list[Session], alarm: int | None = None) -> bytes:
    conference = queries.get_conference()
    return feeds.render_feed(sessions, conference, queries.conference_zone(conference), alarm,
                             lambda s: f"{BASE}sessions/{s.code}", uid=feeds.feed_uid(TOKEN))


def test_feed_events_equal_the_database_in_both_parsers_and_share_the_export_uids(db):
    load_schedule()
    starred = _sessions(db, "s-keynote", "s-serving", "s-workshop")

    body = _feed(starred)

    assert icalendar_events(body) == expected_events(starred)
    assert second_parser_events(body) == expected_events(starred)
    export = icalendar_events(render_export("ics", base_url=BASE))
    assert {uid: export[uid] for uid in icalendar_events(body)} == icalendar_events(body)


def test_feed_header_names_the_calendar_its_zone_and_refresh(db):
    load_schedule()

    body = _feed(_sessions(db, "s-keynote"))
    calendar = icalendar.Calendar.from_ical(body)

    assert str(calendar["X-WR-CALNAME"]) == "Test Conf 2026 — my agenda"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Paris"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in body
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert calendar["UID"] == str(feeds.feed_uid(TOKEN)) and TOKEN not in body.decode()


def test_feed_events_are_the_exports_events_plus_the_alarm(db):
    load_schedule()
    serving = _sessions(db, "s-serving")[0]

    event = icalendar.Calendar.from_ical(_feed([serving], alarm=10)).walk("VEVENT")[0]
    exported = next(e for e in icalendar.Calendar.from_ical(render_export("ics", base_url=BASE)).walk("VEVENT")
                    if str(e["UID"]) == session_uid(serving))

    assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == serving.updated_at
    alarms = event.walk("VALARM")
    assert [(str(a["ACTION"]), a["TRIGGER"].to_ical(), str(a["DESCRIPTION"])) for a in alarms] == [
        ("DISPLAY", b"-PT10M", "Serving Models at Scale in Junior Stage")]
    for alarm in alarms:
        event.subcomponents.remove(alarm)
    assert event.to_ical() == exported.to_ical()


def test_no_alarm_without_the_setting_and_the_same_bytes_every_time(db):
    load_schedule()
    starred = _sessions(db, "s-keynote", "s-break")

    body = _feed(starred)

    assert b"BEGIN:VALARM" not in body
    assert _feed(starred) == body
    assert b"TRIGGER:-PT30M" in _feed(starred, alarm=30)


def test_moved_and_cancelled_sessions_in_the_feed(db):
    load_schedule()
    moved = small_schedule()
    serving = next(s for s in moved.sessions if s.key == "s-serving")
    serving.start, serving.end = serving.start + timedelta(hours=2), serving.end + timedelta(hours=2)
    moved.sessions = [s for s in moved.sessions if s.key != "s-break"]
    load_schedule(moved, now=DAY_ONE + timedelta(hours=1))
    db.expire_all()
    starred = _sessions(db, "s-serving", "s-break")

    events = second_parser_events(_feed(starred))

    assert events == icalendar_events(_feed(starred)) == expected_events(starred)
    assert events[session_uid(starred[0])][:3] == (datetime(2026, 4, 7, 9, 50, tzinfo=UTC),
                                                   datetime(2026, 4, 7, 10, 15, tzinfo=UTC), 1)
    assert events[session_uid(starred[1])][3] == "CANCELLED"


def test_empty_feed_is_a_valid_calendar(db):
    load_schedule()

    body = _feed([])

    assert icalendar_events(body) == second_parser_events(body) == {}
    assert str(icalendar.Calendar.from_ical(body)["X-WR-CALNAME"]) == "Test Conf 2026 — my agenda"


def test_one_session_file(db):
    load_schedule()
    keynote = _sessions(db, "s-keynote")[0]
    conference = queries.get_conference()

    body = feeds.render_session(keynote, conference, queries.conference_zone(conference), f"{BASE}x")

    assert icalendar_events(body) == second_parser_events(body) == expected_events([keynote])
    assert "X-WR-CALNAME" not in icalendar.Calendar.from_ical(body)


# --- One event shape: the full export's fast writer writes exactly session_event's bytes ----------

HOSTILE = ["a,b;c\\d", "line\nbreak\r\nand\rreturn", "literal \\N and \\n", "caret ^ and \"quotes\"", "Zoë — “smart” ✓",
           "emoji 🎉🎉🎉", "x" * 73 + "\\,tail", "é" * 40, "y" * 72 + "^^" + "z" * 90, ""]


def _transient_session(rng: random.Random, number: int) -> Session:
    """A session that is never saved, with hostile text in every field the writer touches."""
    def text(max_length: int) -> str:
        if rng.random() < 0.4:
            return rng.choice(HOSTILE)
        alphabet = string.ascii_letters + " ,;:\\^\"'\n\r—éü🎉"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_length)))

    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC) + timedelta(minutes=37 * number)  # across the DST change
    session = Session(
        guid=f"00000000-0000-0000-0000-{number:012d}", code=f"C{number}", title=text(160) or "t",
        abstract=text(400) if rng.random() < 0.7 else None, starts_at=start, ends_at=start + timedelta(minutes=rng.choice([0, 25, 90])),
        updated_at=datetime(2026, 3, 1, 8, 0, 5, 123456, tzinfo=UTC), sequence=rng.randint(0, 3),
        state=rng.choice(["confirmed", "cancelled"]), type=text(20) or None, level=text(12) or None,
    )
    if rng.random() < 0.8:
        session.room = Room(name=text(40) or "Hall", building=text(20) or None)
    if rng.random() < 0.6:
        session.track = Track(name=text(30))
    session.speaker_links = [
        SessionSpeaker(position=n, speaker=Speaker(id=number * 10 + n, code=f"S{number}{n}", name=text(50) or "N"))
        for n in range(rng.choice([0, 0, 1, 2, 3]))
    ]
    return session


@pytest.mark.parametrize("zone_name", ["Europe/Paris", "UTC", "America/New_York", "Asia/Kolkata"])
def test_fast_writer_writes_icalendars_bytes(zone_name):
    zone = ZoneInfo(zone_name)
    rng = random.Random(zone_name)
    writer = EventWriter(zone)

    for number in range(300):
        session = _transient_session(rng, number)
        url = f"{BASE}sessions/{session.code}"
        assert writer.event(session, url) == session_event(session, zone, url).to_ical(), session.title


def test_full_export_equals_icalendars_own_rendering(db, monkeypatch, caplog):
    load_schedule()
    data = load_export_data(BASE)
    fast = ical_export.render(data)

    # A writer that disagrees on the first event: the export falls back to icalendar for every event.
    monkeypatch.setattr(EventWriter, "event", lambda self, session, url: b"BEGIN:VEVENT\r\nEND:VEVENT\r\n")
    slow = ical_export.render(data)

    assert fast == slow
    assert "disagrees with icalendar" in caplog.text
    assert len(icalendar.Calendar.from_ical(fast).walk("VEVENT")) == 6
