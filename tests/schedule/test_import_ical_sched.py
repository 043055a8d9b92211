"""Hand-made iCalendar and Sched (CSV / JSON) files: zones, floating times, naive Sched times."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from companion.schedule.importers import parse_schedule, sniff_format
from companion.schedule.interchange import ImportProblem

SCHED_NAIVE = (
    "Sched exports have times without a zone: pass --timezone Europe/Paris (the conference's zone)"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def ics(
    *events: str,
    header: str = "X-WR-CALNAME:Conf 2026\r\nX-WR-TIMEZONE:Europe/Paris\r\n",
    extra: str = "",
) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        f"{header}{extra}{body}END:VCALENDAR\r\n"
    )
    return "".join(line.strip() + "\r\n" for line in text.splitlines() if line.strip()).encode()


# Europe/Paris with made-up offsets: +05:00 all year. The tz database says +02:00 in April.
WRONG_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0500
TZOFFSETTO:+0500
TZNAME:WRONG
END:STANDARD
END:VTIMEZONE
"""


# --- iCalendar --------------------------------------------------------------------------------


def test_ical_fields() -> None:
    data = ics(
        """UID:talk-1@conf
        SUMMARY:Opening & welcome
        DESCRIPTION:<p>Hello &amp; welcome</p>
        LOCATION:Main Hall
        CATEGORIES:Keynotes,Plenary
        URL:https://conf.example/talk-1
        DTSTART;TZID=Europe/Paris:20260407T100000
        DTEND;TZID=Europe/Paris:20260407T103000""",
        """UID:talk-2@conf
        SUMMARY:Dropped
        STATUS:CANCELLED
        DTSTART:20260407T090000Z
        DTEND:20260407T093000Z""",
    )
    result = parse_schedule(data)

    assert result.format == "ical"
    assert (result.conference.title, result.conference.timezone) == ("Conf 2026", "Europe/Paris")
    assert result.warnings == []
    first, second = result.sessions
    assert (first.key, first.title, first.room, first.track) == (
        "talk-1@conf",
        "Opening & welcome",
        "Main Hall",
        "Keynotes",
    )
    assert first.description == "<p>Hello &amp; welcome</p>"
    assert first.url == "https://conf.example/talk-1"
    assert (first.start, first.end, first.cancelled) == (
        utc(2026, 4, 7, 8, 0),
        utc(2026, 4, 7, 8, 30),
        False,
    )
    assert (second.key, second.cancelled) == ("talk-2@conf", True)
    assert (second.start, second.end) == (utc(2026, 4, 7, 9, 0), utc(2026, 4, 7, 9, 30))
    assert [r.name for r in result.rooms] == ["Main Hall"]


def test_ical_known_tzid_follows_the_tz_database_not_the_files_block() -> None:
    data = ics(
        """UID:a
        SUMMARY:Talk
        DTSTART;TZID=Europe/Paris:20260407T110000
        DTEND;TZID=Europe/Paris:20260407T120000""",
        extra=WRONG_VTIMEZONE.replace("\n", "\r\n"),
    )
    (session,) = parse_schedule(data).sessions
    assert (session.start, session.end) == (utc(2026, 4, 7, 9, 0), utc(2026, 4, 7, 10, 0))


def test_ical_floating_time_needs_a_timezone() -> None:
    data = ics(
        "UID:f1\r\nSUMMARY:Floating talk\r\nDTSTART:20260407T110000\r\nDTEND:20260407T120000",
        header="",
    )
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data)
    assert caught.value.where == "event 'Floating talk' (uid f1)"
    assert caught.value.message == (
        "DTSTART 2026-04-07T11:00:00 has no time zone: it is a floating time (no TZID, no Z); "
        "pass --timezone with the conference's zone"
    )
    result = parse_schedule(data, timezone="Europe/Paris")
    assert result.conference.timezone == "Europe/Paris"
    assert (result.sessions[0].start, result.sessions[0].end) == (
        utc(2026, 4, 7, 9, 0),
        utc(2026, 4, 7, 10, 0),
    )


def test_ical_duration_instead_of_dtend() -> None:
    data = ics(
        "UID:d\r\nSUMMARY:Workshop\r\nDTSTART;TZID=Europe/Paris:20260407T140000\r\nDURATION:PT1H30M"
    )
    (session,) = parse_schedule(data).sessions
    assert (session.start, session.end) == (utc(2026, 4, 7, 12, 0), utc(2026, 4, 7, 13, 30))


def test_ical_our_own_export_conventions() -> None:
    data = ics(
        """UID:ours
        SUMMARY:Deep dive
        DTSTART:20260407T120000Z
        DTEND:20260407T130000Z
        ATTENDEE;CN=Ann Smith;ROLE=REQ-PARTICIPANT:urn:companion:speaker:ann-42
        ATTENDEE;CN=Bob Jones;ROLE=REQ-PARTICIPANT:urn:companion:speaker:bob-7
        ORGANIZER;CN=Conf Team:mailto:team@conf.example
        X-COMPANION-TYPE:workshop
        X-COMPANION-LEVEL:advanced""",
        """UID:theirs
        SUMMARY:Other
        DTSTART:20260407T140000Z
        DTEND:20260407T150000Z
        ORGANIZER;CN="Carol Doe":mailto:carol@example.org""",
    )
    result = parse_schedule(data)
    ours, theirs = result.sessions
    assert ours.speakers == ["ann-42", "bob-7"]
    assert (ours.type, ours.level) == ("workshop", "advanced")
    assert theirs.speakers == ["Carol Doe"]
    assert [(s.key, s.name) for s in result.speakers] == [
        ("ann-42", "Ann Smith"),
        ("bob-7", "Bob Jones"),
        ("Carol Doe", "Carol Doe"),
    ]


def test_ical_utc_times_without_a_declared_zone() -> None:
    data = ics(
        "UID:u\r\nSUMMARY:Talk\r\nDTSTART:20260407T120000Z\r\nDTEND:20260407T130000Z", header=""
    )
    result = parse_schedule(data)
    assert result.conference.timezone == "UTC"
    assert result.warnings == [
        "no usable time zone in the file (offsets: none): taken as UTC; "
        "pass --timezone to set the real zone"
    ]
    assert parse_schedule(data, timezone="Europe/Lisbon").conference.timezone == "Europe/Lisbon"


def test_ical_event_without_summary_or_dtstart() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(ics("UID:x\r\nDTSTART:20260407T120000Z"))
    assert (caught.value.message, caught.value.where) == ("has no SUMMARY (title)", "event (uid x)")
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(ics("UID:y\r\nSUMMARY:No start"))
    assert (caught.value.message, caught.value.where) == (
        "has no DTSTART",
        "event 'No start' (uid y)",
    )


def test_ical_duplicate_uid_is_kept_with_a_numbered_key() -> None:
    event = "UID:same\r\nSUMMARY:{}\r\nDTSTART:20260407T{}0000Z\r\nDURATION:PT30M"
    result = parse_schedule(ics(event.format("One", "10"), event.format("Two", "11")))
    assert [s.key for s in result.sessions] == ["same", "same#2"]
    assert result.warnings == [
        "event 'Two' (uid same): UID 'same' is also used by event 'One' (uid same); "
        "both kept, this one keyed 'same#2'"
    ]


def test_ical_garbage_after_begin() -> None:
    with pytest.raises(ImportProblem, match=r"^not a valid iCalendar file: "):
        parse_schedule(b"BEGIN:VCALENDAR\r\nthis is not a content line\r\n")


# --- Sched ------------------------------------------------------------------------------------

SCHED_CSV = (
    "event_key,active,name,event_start,event_end,event_type,event_subtype,description,venue,"
    "id,venue_id,speakers\r\n"
    "k-open,Y,Opening,2026-04-07 09:00,2026-04-07 09:30,Keynotes,Keynote,"
    '"<p>Hi &amp;\r\nwelcome</p>",'
    'Main Hall,a1b2,12,"Ann Smith, Bob Jones"\r\n'
    "k-gone,N,Withdrawn talk,2026-04-07 10:00:00,2026-04-07 10:45:00,AI Track,Talk,,"
    "Room B,c3d4,13,Bob Jones\r\n"
)


def test_sched_csv_needs_a_timezone() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(SCHED_CSV.encode())
    assert caught.value.message == SCHED_NAIVE
    assert str(caught.value) == SCHED_NAIVE


def test_sched_csv_with_timezone() -> None:
    result = parse_schedule(SCHED_CSV.encode(), timezone="Europe/Paris")

    assert result.format == "sched-csv"
    assert result.conference.timezone == "Europe/Paris"
    assert result.warnings == []
    opening, gone = result.sessions
    assert (opening.key, opening.title, opening.room, opening.track, opening.type) == (
        "k-open",
        "Opening",
        "Main Hall",
        "Keynotes",
        "Keynote",
    )
    assert (opening.start, opening.end) == (utc(2026, 4, 7, 7, 0), utc(2026, 4, 7, 7, 30))
    assert opening.description == "<p>Hi &amp;\nwelcome</p>"
    assert opening.speakers == ["Ann Smith", "Bob Jones"]
    assert (opening.cancelled, gone.cancelled) == (False, True)
    assert (gone.start, gone.end) == (utc(2026, 4, 7, 8, 0), utc(2026, 4, 7, 8, 45))
    assert gone.speakers == ["Bob Jones"]
    assert [s.key for s in result.speakers] == ["Ann Smith", "Bob Jones"]
    assert [t.name for t in result.tracks] == ["Keynotes", "AI Track"]


def test_sched_csv_missing_name_names_the_line_after_a_multiline_cell() -> None:
    data = SCHED_CSV + "k-x,Y,,2026-04-07 11:00,2026-04-07 11:30,,,,,e5f6,,\r\n"
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data.encode(), timezone="Europe/Paris")
    assert (caught.value.message, caught.value.where) == (
        "has no name (title)",
        "line 5, event (event_key k-x)",
    )


def test_sched_semicolon_csv_and_duplicate_keys() -> None:
    data = (
        "event_key;name;event_start;event_end;id\n"
        "k1;First;2026-04-07 09:00;2026-04-07 09:30;aa\n"
        "k1;Second;2026-04-07 10:00;2026-04-07 10:30;bb\n"
    )
    result = parse_schedule(data.encode(), timezone="Europe/Paris")
    assert [(s.key, s.title) for s in result.sessions] == [("k1", "First"), ("id:bb", "Second")]
    assert result.warnings == [
        "event 'Second' (event_key k1): event_key 'k1' is also used by "
        "event 'First' (event_key k1); "
        "both kept, this one keyed 'id:bb'"
    ]


SCHED_JSON = json.dumps(
    [
        {
            "event_key": "j1",
            "active": "Y",
            "name": "JSON talk",
            "event_start": "2026-04-07 09:00:00",
            "event_end": "2026-04-07 10:00:00",
            "event_type": "Talks",
            "venue": "Hall",
            "id": "77",
            "speakers": "Dee Lee",
        },
        {
            "event_key": "j2",
            "active": "N",
            "name": "Gone",
            "event_start": "2026-04-07 11:00:00",
            "event_end": "2026-04-07 12:00:00",
            "id": 78,
            "speakers": [{"name": "Eve"}, "Fay"],
        },
    ]
)


def test_sched_json_in_a_file_given_as_sched_csv() -> None:
    with pytest.raises(ImportProblem, match=f"^{re.escape(SCHED_NAIVE)}$"):
        parse_schedule(SCHED_JSON.encode(), fmt="sched-csv")
    result = parse_schedule(SCHED_JSON.encode(), fmt="sched-csv", timezone="Europe/Paris")
    assert result.format == "sched-json"
    first, second = result.sessions
    assert (first.key, first.title, first.track, first.room, first.external_id) == (
        "j1",
        "JSON talk",
        "Talks",
        "Hall",
        77,
    )
    assert (first.start, first.end) == (utc(2026, 4, 7, 7, 0), utc(2026, 4, 7, 8, 0))
    assert (second.cancelled, second.speakers, second.external_id) == (True, ["Eve", "Fay"], 78)


def test_sched_csv_content_in_a_json_named_file_is_sniffed_as_csv() -> None:
    # The bytes decide: nothing about the name "export.json" reaches the importer.
    assert sniff_format(SCHED_CSV.encode()) == "sched-csv"
    result = parse_schedule(SCHED_CSV.encode(), fmt="sched-json", timezone="Europe/Paris")
    assert result.format == "sched-csv"
    assert len(result.sessions) == 2


def test_sched_times_with_offsets_need_no_timezone() -> None:
    data = (
        "event_key,name,event_start,event_end\n"
        "k,T,2026-04-07T09:00:00+02:00,2026-04-07T10:00:00+02:00\n"
    )
    result = parse_schedule(data.encode())
    assert result.sessions[0].start == utc(2026, 4, 7, 7, 0)
    assert result.conference.timezone == "Etc/GMT-2"


def test_ical_zone_named_by_the_events_tzid_when_none_is_declared() -> None:
    data = ics(
        "UID:ny\r\nSUMMARY:Talk\r\nDTSTART;TZID=America/New_York:20260407T100000\r\nDURATION:PT1H",
        header="",
    )
    result = parse_schedule(data)
    assert (result.conference.timezone, result.warnings) == ("America/New_York", [])
    assert result.sessions[0].start == utc(2026, 4, 7, 14, 0)


def test_ical_tzid_utc_is_no_evidence_against_the_declared_zone() -> None:
    data = ics("UID:u\r\nSUMMARY:Talk\r\nDTSTART;TZID=UTC:20260407T100000\r\nDURATION:PT1H")
    result = parse_schedule(data)
    assert (result.conference.timezone, result.warnings) == ("Europe/Paris", [])
    assert result.sessions[0].start == utc(2026, 4, 7, 10, 0)


def test_ical_unknown_tzid_without_a_block_is_floating() -> None:
    data = ics("UID:w\r\nSUMMARY:Talk\r\nDTSTART;TZID=Moon/Base:20260407T100000\r\nDURATION:PT1H")
    result = parse_schedule(data, timezone="Europe/Paris")
    assert result.sessions[0].start == utc(2026, 4, 7, 8, 0)
    assert result.warnings == [
        "event 'Talk' (uid w): unknown TZID 'Moon/Base' without a VTIMEZONE, "
        "read as a floating time"
    ]


def test_ical_all_day_entry_is_the_local_day() -> None:
    result = parse_schedule(ics("UID:d\r\nSUMMARY:Expo\r\nDTSTART;VALUE=DATE:20260407"))
    (session,) = result.sessions
    assert (session.start, session.end) == (utc(2026, 4, 6, 22, 0), utc(2026, 4, 7, 22, 0))


def test_ical_broken_dtstart_names_the_event() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(ics("UID:b\r\nSUMMARY:Broken\r\nDTSTART:tomorrow-ish"))
    assert (caught.value.message, caught.value.where) == (
        "DTSTART 'tomorrow-ish' is not a date and time",
        "event 'Broken' (uid b)",
    )


def test_sched_bad_time_names_the_event() -> None:
    data = "event_key,name,event_start,event_end\nk9,Talk,next tuesday,\n"
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data.encode(), timezone="Europe/Paris")
    assert (caught.value.message, caught.value.where) == (
        "event_start 'next tuesday' is not a date and time",
        "event 'Talk' (event_key k9)",
    )
