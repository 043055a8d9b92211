"""Malformed values: an ImportProblem naming the event and the problem, never a Python error."""

from __future__ import annotations

import json

import pytest

from companion.schedule import importers
from companion.schedule.importers import parse_schedule
from companion.schedule.interchange import ImportProblem
from tests.schedule.test_import_c3voc_frab import GUID_A, c3voc, event, frab, frab_event
from tests.schedule.test_import_ical_sched import ics

LABEL = f"event 'Talk' (guid {GUID_A})"


def problem(data: bytes, timezone: str | None = None) -> tuple[str, str | None]:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data, timezone=timezone)
    return caught.value.message, caught.value.where


@pytest.mark.parametrize("clock", ["25:00", "24:00", "12:60", "99:99"])
def test_start_clock_out_of_the_day(clock: str) -> None:
    assert problem(c3voc(event(date=None, start=clock))) == (
        f"start '{clock}' is not a time of day (00:00 to 23:59)",
        LABEL,
    )


def test_frab_start_clock_out_of_the_day() -> None:
    assert problem(frab(frab_event(date=None, start="25:00"))) == (
        "start '25:00' is not a time of day (00:00 to 23:59)",
        f"event 'Talk' (guid {GUID_A})",
    )


OUTSIDE = "puts the end of the event outside the years 1900 to 2999"


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("9999999999:00:00:00", "is too long"),  # over timedelta's 999999999 days
        ("99999999:00:00", OUTSIDE),  # 11 400 years of hours
        ("4000000:00:00:00", OUTSIDE),  # past datetime's year 9999
        ("9000000:00:00", OUTSIDE),  # within datetime, past 2999
    ],
)
def test_huge_duration(duration: str, message: str) -> None:
    assert problem(c3voc(event(duration=duration))) == (f"duration '{duration}' {message}", LABEL)


@pytest.mark.parametrize(
    ("date", "shown"),
    [
        ("0001-01-01T00:00+01:00", "0001-01-01T00:00:00+01:00"),
        ("9999-12-31T23:00-05:00", "9999-12-31T23:00:00-05:00"),
        ("1899-12-31T23:00:00+00:00", "1899-12-31T23:00:00+00:00"),
        ("3000-01-01T00:00:00+00:00", "3000-01-01T00:00:00+00:00"),
    ],
)
def test_date_out_of_range(date: str, shown: str) -> None:
    assert problem(c3voc(event(date=date))) == (
        f"date {shown} is out of range (the years 1900 to 2999)",
        LABEL,
    )


def test_end_out_of_range_and_naive_date_with_a_zone() -> None:
    assert problem(c3voc(event(end="9999-12-31T23:59:00+00:00"))) == (
        "end 9999-12-31T23:59:00+00:00 is out of range (the years 1900 to 2999)",
        LABEL,
    )
    assert problem(c3voc(event(date="9999-12-31T23:00:00")), timezone="America/New_York") == (
        "date 9999-12-31T23:00:00-05:00 is out of range (the years 1900 to 2999)",
        LABEL,
    )


def test_ical_dates_out_of_range() -> None:
    assert problem(ics("UID:u1\nSUMMARY:Talk\nDTSTART:00010101T000000Z")) == (
        "DTSTART 0001-01-01T00:00:00+00:00 is out of range (the years 1900 to 2999)",
        "event 'Talk' (uid u1)",
    )
    assert problem(ics("UID:u1\nSUMMARY:Talk\nDTSTART;VALUE=DATE:99991231")) == (
        "DTSTART 9999-12-31T00:00:00+01:00 is out of range (the years 1900 to 2999)",
        "event 'Talk' (uid u1)",
    )
    assert problem(ics("UID:u1\nSUMMARY:Talk\nDTSTART:20260407T090000Z\nDURATION:P99999999W")) == (
        "DURATION 'P699999993D' puts the end of the event outside the years 1900 to 2999",
        "event 'Talk' (uid u1)",
    )


@pytest.mark.parametrize("value", ["²", "١٢", "12a", "-3", "1" * 5000])
def test_id_that_is_not_ascii_digits_is_no_external_id(value: str) -> None:
    result = parse_schedule(c3voc(event(id=value)))

    assert result.sessions[0].external_id is None
    assert result.warnings == []


def test_frab_superscript_id_is_no_external_id() -> None:
    result = parse_schedule(frab(frab_event(guid="", event_id="²")))
    assert (result.sessions[0].key, result.sessions[0].external_id) == ("id:²", None)


def test_c3voc_rooms_and_tracks_that_are_not_lists() -> None:
    assert problem(c3voc(event(), rooms=5)) == (
        "'schedule.conference.rooms' is 5, not a list of rooms",
        None,
    )
    assert problem(c3voc(event(), tracks={"name": "A"})) == (
        "'schedule.conference.tracks' is an object, not a list of tracks",
        None,
    )


def test_c3voc_events_of_a_room_that_are_not_a_list_refuse_the_file() -> None:
    document = json.loads(c3voc(event()))
    document["schedule"]["conference"]["days"][0]["rooms"]["Hall"] = {"title": "Talk"}

    assert problem(json.dumps(document).encode()) == (
        "day 2026-04-07: room 'Hall' is an object, not a list of events",
        None,
    )


def test_c3voc_room_without_events_is_fine() -> None:
    document = json.loads(c3voc(event()))
    document["schedule"]["conference"]["days"][0]["rooms"]["Empty"] = None

    assert len(parse_schedule(json.dumps(document).encode()).sessions) == 1


def test_json_number_too_long_for_python() -> None:
    data = b'{"schedule": {"conference": {"days": [], "n": ' + b"1" * 5000 + b"}}}"

    assert problem(data) == (
        "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion",
        None,
    )


@pytest.mark.parametrize("error", [ValueError, TypeError, OverflowError, KeyError, IndexError])
def test_any_other_error_of_a_format_module_becomes_an_import_problem(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def broken(*args: object) -> None:
        raise error("something unforeseen")

    monkeypatch.setattr(importers, "parse_c3voc", broken)

    message, where = problem(c3voc(event()))
    detail = "'something unforeseen'" if error is KeyError else "something unforeseen"
    assert (message, where) == (f"the file could not be read: {detail}", None)


def test_clock_time_after_midnight_of_the_last_representable_day() -> None:
    document = json.loads(c3voc(event(date=None, start="01:00")))
    day = document["schedule"]["conference"]["days"][0]
    day.update(date="9999-12-31", day_start="9999-12-31T10:00:00+01:00")

    assert problem(json.dumps(document).encode()) == (
        "start 9999-12-31 01:00 is out of range",
        LABEL,
    )


def test_conference_dates_out_of_range_are_left_out_with_a_warning() -> None:
    result = parse_schedule(c3voc(event(), start="0001-01-01", end="9999-12-31"))

    assert (result.conference.start_date, result.conference.end_date) == (
        result.sessions[0].start.date(),
        result.sessions[0].start.date(),
    )
    assert result.warnings == [
        "the conference start 0001-01-01 is out of range (the years 1900 to 2999), left out",
        "the conference end 9999-12-31 is out of range (the years 1900 to 2999), left out",
    ]


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Europe", "'Europe'"), ("x" * 300, "'" + "x" * 59 + "…'"), ("Europe/Paris\x00", None)],
)
def test_zone_names_the_tz_database_trips_over_are_unknown(zone: str, shown: str | None) -> None:
    # ZoneInfo("Europe") raises IsADirectoryError, a 300-character name "File name too long".
    result = parse_schedule(c3voc(event(), zone=zone))

    if shown is None:  # the NUL is cleaned away: a zone like any other
        assert (result.conference.timezone, result.warnings) == ("Europe/Paris", [])
        return
    assert result.conference.timezone == "Etc/GMT-2"
    assert result.warnings[0] == (
        f"the file declares time zone {shown}, which the tz database does not know"
    )


def test_ical_tzid_that_is_a_directory_of_the_tz_database() -> None:
    # icalendar resolves the TZID itself, and ZoneInfo("Europe") raises IsADirectoryError.
    assert problem(ics("UID:u1\nSUMMARY:Talk\nDTSTART;TZID=Europe:20260407T100000")) == (
        "not a valid iCalendar file: a TZID is not a time zone the tz database knows",
        None,
    )
