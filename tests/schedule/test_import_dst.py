"""Local times on the nights the clocks change: resolved as before, but never silently.

In Europe/Paris, 2026-10-25 02:30 happens twice (clocks go back at 03:00 CEST) and 2026-03-29
02:30 does not happen (clocks go forward at 02:00 CET).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from companion.schedule.importers import parse_schedule
from tests.schedule.test_import_c3voc_frab import GUID_A, c3voc, event
from tests.schedule.test_import_ical_sched import ics

LABEL = f"event 'Talk' (guid {GUID_A})"
SCHED_HEADER = "event_key,name,event_start,event_end,venue\n"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_ambiguous_naive_time_is_the_first_with_a_warning() -> None:
    result = parse_schedule(c3voc(event(date="2026-10-25T02:30:00")), timezone="Europe/Paris")

    (session,) = result.sessions
    assert session.start == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first of the two
    assert result.warnings == [
        f"{LABEL}: 02:30 on 2026-10-25 happens twice in Europe/Paris (clocks go back); "
        "taken as the first, 02:30 CEST"
    ]


def test_non_existent_naive_time_moves_forward_with_a_warning() -> None:
    result = parse_schedule(c3voc(event(date="2026-03-29T02:30:00")), timezone="Europe/Paris")

    (session,) = result.sessions
    assert session.start == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert result.warnings == [
        f"{LABEL}: 02:30 on 2026-03-29 does not exist in Europe/Paris (clocks go forward); "
        "taken as 03:30 CEST"
    ]


def test_ambiguous_end_names_the_field() -> None:
    result = parse_schedule(
        c3voc(event(date="2026-10-25T01:30:00+02:00", end="2026-10-25T02:15:00")),
        timezone="Europe/Paris",
    )

    assert result.sessions[0].end == utc(2026, 10, 25, 0, 15)
    assert result.warnings == [
        f"{LABEL}: end 02:15 on 2026-10-25 happens twice in Europe/Paris (clocks go back); "
        "taken as the first, 02:15 CEST"
    ]


def test_sched_naive_times_on_the_change_nights() -> None:
    data = (
        SCHED_HEADER
        + "k1,Late,2026-10-25 02:30,2026-10-25 03:30,Hall\n"
        + "k2,Early,2026-03-29 02:30,2026-03-29 04:00,Hall\n"
    ).encode()
    result = parse_schedule(data, timezone="Europe/Paris")

    assert [(s.key, s.start) for s in result.sessions] == [
        ("k2", utc(2026, 3, 29, 1, 30)),
        ("k1", utc(2026, 10, 25, 0, 30)),
    ]
    assert result.warnings == [
        "event 'Late' (event_key k1): 02:30 on 2026-10-25 happens twice in Europe/Paris "
        "(clocks go back); taken as the first, 02:30 CEST",
        "event 'Early' (event_key k2): 02:30 on 2026-03-29 does not exist in Europe/Paris "
        "(clocks go forward); taken as 03:30 CEST",
    ]


def test_ical_tzid_wall_time_on_the_change_night() -> None:
    result = parse_schedule(
        ics(
            "UID:u1\nSUMMARY:Talk\n"
            "DTSTART;TZID=Europe/Paris:20261025T023000\nDTEND;TZID=Europe/Paris:20261025T033000"
        )
    )

    assert result.sessions[0].start == utc(2026, 10, 25, 0, 30)
    assert result.warnings == [
        "event 'Talk' (uid u1): 02:30 on 2026-10-25 happens twice in Europe/Paris "
        "(clocks go back); taken as the first, 02:30 CEST"
    ]


def test_times_with_offsets_are_instants_and_never_warned() -> None:
    result = parse_schedule(c3voc(event(date="2026-10-25T02:30:00+01:00")))

    assert result.sessions[0].start == utc(2026, 10, 25, 1, 30)
    assert result.warnings == []


# --- events given by their day and a clock time (no date) --------------------------------------


def night_of_the_change(zone: str | None) -> bytes:
    """A day that starts before the clocks go back (+02:00) and runs past it."""
    document = json.loads(
        c3voc(
            event(date=None, start="03:30", title="After"),
            event(guid=None, id=2, date=None, start="23:00", title="Before", room="Side"),
            zone=zone,
        )
    )
    day = document["schedule"]["conference"]["days"][0]
    day.update(date="2026-10-24", day_start="2026-10-24T10:00:00+02:00")
    day["day_end"] = "2026-10-25T05:00:00+01:00"
    return json.dumps(document).encode()


def test_clock_times_after_the_change_take_the_zones_offset_not_the_days() -> None:
    result = parse_schedule(night_of_the_change("Europe/Paris"))

    starts = {s.title: s.start for s in result.sessions}
    assert starts == {
        "Before": utc(2026, 10, 24, 21, 0),  # 23:00 CEST
        "After": utc(2026, 10, 25, 2, 30),  # 03:30 CET, not 03:30 at the day start's +02:00
    }
    assert result.warnings == []


def test_clock_times_use_the_organisers_zone_when_the_file_names_none() -> None:
    result = parse_schedule(night_of_the_change(None), timezone="Europe/Paris")

    assert {s.title: s.start for s in result.sessions}["After"] == utc(2026, 10, 25, 2, 30)


def test_clock_times_keep_the_days_offset_without_a_known_zone() -> None:
    result = parse_schedule(night_of_the_change(None))

    assert {s.title: s.start for s in result.sessions}["After"] == utc(2026, 10, 25, 1, 30)


def test_clock_times_keep_the_days_offset_when_the_zone_contradicts_it() -> None:
    # pretalx's demo declares UTC with +02:00 dates: the dates are trusted, as everywhere.
    result = parse_schedule(night_of_the_change("UTC"))

    assert {s.title: s.start for s in result.sessions}["After"] == utc(2026, 10, 25, 1, 30)


def test_clock_time_that_happens_twice_in_the_zone_is_warned() -> None:
    document = json.loads(night_of_the_change("Europe/Paris"))
    hall = document["schedule"]["conference"]["days"][0]["rooms"]["Hall"]
    hall[0]["start"] = "02:30"

    result = parse_schedule(json.dumps(document).encode())

    assert {s.title: s.start for s in result.sessions}["After"] == utc(2026, 10, 25, 0, 30)
    assert result.warnings == [
        f"event 'After' (guid {GUID_A}): 02:30 on 2026-10-25 happens twice in Europe/Paris "
        "(clocks go back); taken as the first, 02:30 CEST"
    ]
