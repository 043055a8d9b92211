"""Export, then import with our own importers: the schedule survives each format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from companion.schedule.exporters import render_export
from companion.schedule.importers import parse_schedule
from companion.schedule.interchange import ParsedSchedule, ParsedSession
from companion.schedule.models import Session
from tests.factories import DAY_ONE, load_schedule, small_schedule

Summary = dict[str, tuple[datetime, datetime, str | None, str | None, list[str], bool]]


def _load_with_night_and_cancellation() -> None:
    """The small schedule, a roomless, trackless session at 01:30 local, and the break cancelled."""
    parsed = small_schedule()
    parsed.sessions.append(ParsedSession(
        key="s-night", title="Night <Owls> & Co", start=datetime(2026, 4, 7, 23, 30, tzinfo=UTC),
        end=datetime(2026, 4, 8, 0, 15, tzinfo=UTC), speakers=["spk-ada", "spk-grace"],
    ))
    load_schedule(parsed)
    parsed.sessions = [s for s in parsed.sessions if s.key != "s-break"]
    load_schedule(parsed, now=DAY_ONE + timedelta(hours=1))


def _stored(db, location: bool) -> Summary:
    def room(session: Session) -> str | None:
        if session.room is None:
            return None
        return ", ".join(p for p in (session.room.name, session.room.building) if p) if location else session.room.name

    return {
        s.title: (s.starts_at, s.ends_at, room(s), s.track.name if s.track else None, [sp.name for sp in s.speakers],
                  s.is_cancelled)
        for s in db.scalars(select(Session))
    }


def _parsed(parsed: ParsedSchedule) -> Summary:
    names = {speaker.key: speaker.name for speaker in parsed.speakers}
    return {
        s.title: (s.start, s.end, s.room or None, s.track, [names[key] for key in s.speakers], s.cancelled)
        for s in parsed.sessions
    }


@pytest.mark.parametrize(("fmt", "format_name"), [("json", "c3voc-json"), ("xml", "frab-xml")])
def test_json_and_xml_exports_read_back_as_the_confirmed_sessions(db, fmt, format_name):
    _load_with_night_and_cancellation()
    stored = _stored(db, location=False)

    parsed = parse_schedule(render_export(fmt, base_url="https://companion.example.org/"))

    assert parsed.format == format_name
    assert parsed.warnings == []
    assert _parsed(parsed) == {title: v for title, v in stored.items() if not v[5]}
    assert len(parsed.sessions) == 6 and "Coffee Break" in stored
    assert (parsed.conference.title, parsed.conference.timezone) == ("Test Conf 2026", "Europe/Paris")
    assert [r.name for r in parsed.rooms] == ["Master Stage", "Junior Stage", "Founders Cafe"]
    assert [t.name for t in parsed.tracks] == ["Community", "Frameworks & Compilers", "Inference & Production"]
    by_title = {s.title: s for s in parsed.sessions}
    keynote = db.scalars(select(Session).where(Session.source_key == "s-keynote")).one()
    assert by_title["Opening Keynote"].guid == keynote.guid
    assert [(link.url, link.title) for link in by_title["Opening Keynote"].links] == [("https://example.org/slides", "Slides")]


def test_ics_export_reads_back_with_cancelled_state(db):
    _load_with_night_and_cancellation()

    parsed = parse_schedule(render_export("ics", base_url="https://companion.example.org/"))

    assert parsed.format == "ical"
    # iCalendar has one LOCATION: the room's name and building, as the export writes it.
    assert _parsed(parsed) == _stored(db, location=True)
    assert _parsed(parsed)["Coffee Break"][5] is True
    sessions = {s.source_key: s for s in db.scalars(select(Session))}
    assert {p.key for p in parsed.sessions} == {f"{s.guid}@conference-companion" for s in sessions.values()}
    serving = next(p for p in parsed.sessions if p.title == "Serving Models at Scale")
    assert (serving.type, serving.level, serving.url) == (
        "Talk", "Advanced", f"https://companion.example.org/sessions/{sessions['s-serving'].code}")
