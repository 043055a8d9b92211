"""Hand-made c3voc JSON and frab XML edge cases: the oddities real exports have."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from companion.schedule.importers import parse_schedule
from companion.schedule.interchange import ImportProblem, ParsedLink

GUID_A = "11111111-1111-4111-8111-111111111111"
GUID_B = "22222222-2222-4222-8222-222222222222"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def event(**fields: Any) -> dict[str, Any]:
    """A c3voc event with the required fields; ``fields`` override (None removes a field)."""
    base: dict[str, Any] = {
        "guid": GUID_A,
        "id": 1,
        "date": "2026-04-07T10:00:00+02:00",
        "start": "10:00",
        "duration": "00:30",
        "room": "Hall",
        "slug": "conf-1-talk",
        "url": "https://conf.example/1",
        "title": "Talk",
        "subtitle": "",
        "track": "Main",
        "type": "talk",
        "language": "en",
        "abstract": "",
        "description": "",
        "persons": [],
        "links": [],
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def c3voc(*events: dict[str, Any], zone: str | None = "Europe/Paris", **conference: Any) -> bytes:
    """A c3voc schedule.json with all events on one day, grouped by their room."""
    rooms: dict[str, list] = {}
    for item in events:
        rooms.setdefault(item.get("room", "Hall"), []).append(item)
    conf: dict[str, Any] = {
        "acronym": "conf",
        "title": "Conf",
        "start": "2026-04-07",
        "end": "2026-04-07",
        "daysCount": 1,
        "timeslot_duration": "00:05",
        "days": [
            {
                "index": 1,
                "date": "2026-04-07",
                "day_start": "2026-04-07T04:00:00+02:00",
                "day_end": "2026-04-08T03:59:00+02:00",
                "rooms": rooms,
            }
        ],
    }
    if zone:
        conf["time_zone_name"] = zone
    conf.update(conference)
    return json.dumps({"schedule": {"version": "1", "conference": conf}}).encode()


# --- c3voc ------------------------------------------------------------------------------------


def test_duplicate_guid_keeps_both_with_a_key_from_the_id() -> None:
    result = parse_schedule(
        c3voc(event(title="First"), event(title="Second", id=2, date="2026-04-07T11:00:00+02:00"))
    )

    assert [(s.key, s.title) for s in result.sessions] == [(GUID_A, "First"), ("id:2", "Second")]
    assert result.warnings == [
        f"event 'Second' (guid {GUID_A}): guid '{GUID_A}' is also used by "
        f"event 'First' (guid {GUID_A}); "
        "both kept, this one keyed 'id:2'"
    ]


def test_duplicate_guid_and_id_fall_back_to_slug_then_a_number() -> None:
    result = parse_schedule(
        c3voc(
            event(title="A"),
            event(title="B", slug="conf-b", date="2026-04-07T11:00:00+02:00"),
            event(title="C", slug="conf-b", date="2026-04-07T12:00:00+02:00"),
        )
    )
    assert [s.key for s in result.sessions] == [GUID_A, "conf-b", f"{GUID_A}#2"]
    assert len(result.warnings) == 2


def test_empty_duration_is_zero_minutes_with_a_warning() -> None:
    result = parse_schedule(c3voc(event(title="Opening", duration="")))

    (session,) = result.sessions
    assert session.start == session.end == utc(2026, 4, 7, 8, 0)
    assert result.warnings == [
        f"event 'Opening' (guid {GUID_A}): empty duration, taken as 0 minutes"
    ]


def test_end_wins_over_duration() -> None:
    result = parse_schedule(c3voc(event(end="2026-04-07T11:15:00+02:00", duration="00:30")))
    assert result.sessions[0].end == utc(2026, 4, 7, 9, 15)


def test_missing_title_names_the_event() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(c3voc(event(title="")))
    assert (caught.value.message, caught.value.where) == ("has no title", f"event (guid {GUID_A})")


def test_missing_start_names_the_event_and_field() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(c3voc(event(date=None, start=None)))
    assert caught.value.where == f"event 'Talk' (guid {GUID_A})"
    assert caught.value.message == "has no start ('date', or the day's date and 'start' HH:MM)"


def test_start_from_day_and_clock_after_midnight_belongs_to_the_next_date() -> None:
    result = parse_schedule(c3voc(event(date=None, start="01:30")))
    # The day runs 04:00 to 03:59: 01:30 is the early morning of 8 April, at the day's +02:00.
    assert result.sessions[0].start == utc(2026, 4, 7, 23, 30)


def test_naive_time_without_timezone_is_an_error() -> None:
    data = c3voc(event(date="2026-04-07T10:00:00"))
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data)
    assert caught.value.where == f"event 'Talk' (guid {GUID_A})"
    assert caught.value.message == (
        "date 2026-04-07T10:00:00 has no time zone: "
        "pass --timezone with the conference's zone, e.g. Europe/Paris"
    )
    assert parse_schedule(data, timezone="Europe/Paris").sessions[0].start == utc(2026, 4, 7, 8, 0)


def test_unsorted_events_are_sorted_with_a_warning() -> None:
    result = parse_schedule(
        c3voc(
            event(guid=GUID_A, title="Late", date="2026-04-07T12:00:00+02:00"),
            event(guid=GUID_B, id=2, title="Early", date="2026-04-07T09:00:00+02:00"),
        )
    )
    assert [s.title for s in result.sessions] == ["Early", "Late"]
    assert result.warnings == [
        f"event 'Early' (guid {GUID_B}): listed after a later event in room 'Hall'; sorted by time"
    ]


def test_overlapping_sessions_in_a_room_are_kept_with_a_warning() -> None:
    result = parse_schedule(
        c3voc(
            event(guid=GUID_A, title="Long", duration="01:00"),
            event(guid=GUID_B, id=2, title="Clash", date="2026-04-07T10:30:00+02:00"),
        )
    )
    assert len(result.sessions) == 2
    assert result.warnings == [
        f"event 'Clash' (guid {GUID_B}) overlaps event 'Long' (guid {GUID_A}) in room 'Hall'"
    ]


def test_html_and_entities_in_descriptions_are_kept_as_is() -> None:
    html = "<p>Fish &amp; chips &nbsp; <b>bold</b> &#x2603; <script>x</script></p>"
    result = parse_schedule(c3voc(event(description=html, abstract="a &lt; b")))
    assert (result.sessions[0].description, result.sessions[0].abstract) == (html, "a &lt; b")


def test_person_shapes_and_keys() -> None:
    persons = [
        {"id": 7, "public_name": "Frab Person"},
        {"name": "Pretalx Person", "code": "ABC123", "biography": "Bio", "organisation": "Org"},
        {"guid": GUID_B, "name": "Guid Person", "organization": "Corp", "position": "CTO"},
        {"public_name": "Name Only"},
        {"id": 9},
    ]
    result = parse_schedule(c3voc(event(persons=persons)))

    assert result.sessions[0].speakers == ["id:7", "ABC123", GUID_B, "Name Only"]
    assert [(s.key, s.name, s.biography, s.organisation, s.position) for s in result.speakers] == [
        ("id:7", "Frab Person", None, None, None),
        ("ABC123", "Pretalx Person", "Bio", "Org", None),
        (GUID_B, "Guid Person", None, "Corp", "CTO"),
        ("Name Only", "Name Only", None, None, None),
    ]
    assert result.warnings == [f"event 'Talk' (guid {GUID_A}): a person without a name, left out"]


def test_links_level_and_optional_fields() -> None:
    links = [
        {"url": "https://slides.example/1", "title": "Slides"},
        {"url": "/media/video.mp4", "title": "Video"},
        {"url": "javascript:alert(1)", "title": "Bad"},
    ]
    result = parse_schedule(
        json.dumps(
            {
                "schedule": {
                    "version": "1",
                    "base_url": "https://pretalx.example/conf/",
                    "conference": json.loads(
                        c3voc(
                            event(
                                links=links,
                                level="beginner",
                                subtitle=None,
                                track=None,
                                language=None,
                            )
                        )
                    )["schedule"]["conference"],
                }
            }
        ).encode()
    )
    (session,) = result.sessions
    assert session.links == [
        ParsedLink("https://slides.example/1", "Slides"),
        ParsedLink("https://pretalx.example/media/video.mp4", "Video"),
    ]
    assert result.warnings == [
        f"event 'Talk' (guid {GUID_A}): link 'javascript:alert(1)' is not an http(s) URL, left out"
    ]
    assert (session.level, session.subtitle, session.track, session.language) == (
        "beginner",
        None,
        None,
        None,
    )
    assert result.tracks == []


def test_declared_rooms_and_tracks_come_first_with_capacity_and_colour() -> None:
    result = parse_schedule(
        c3voc(
            event(room="Side", track="B"),
            event(guid=GUID_B, id=2, room="Annex", track="A"),
            rooms=[{"name": "Hall", "capacity": 500}, {"name": "Side", "capacity": "80"}],
            tracks=[{"name": "A", "color": "#FF0000"}, {"name": "C", "color": "0f0"}],
        )
    )
    assert [(r.name, r.capacity, r.position) for r in result.rooms] == [
        ("Hall", 500, 0),
        ("Side", 80, 1),
        ("Annex", None, 2),
    ]
    assert [(t.name, t.colour) for t in result.tracks] == [
        ("A", "#ff0000"),
        ("C", "#00ff00"),
        ("B", None),
    ]


def test_mixed_offsets_without_a_usable_zone_fall_back_to_utc() -> None:
    result = parse_schedule(
        c3voc(
            event(date="2026-03-20T10:00:00+01:00"),
            event(guid=GUID_B, id=2, room="Side", date="2026-04-07T10:00:00+02:00"),
            zone=None,
        )
    )
    assert result.conference.timezone == "UTC"
    assert result.warnings == [
        "no usable time zone in the file (offsets: +01:00, +02:00): taken as UTC; "
        "pass --timezone to set the real zone"
    ]


def test_declared_zone_matching_across_dst_is_kept_silently() -> None:
    result = parse_schedule(
        c3voc(
            event(date="2026-03-20T10:00:00+01:00"),
            event(guid=GUID_B, id=2, room="Side", date="2026-04-07T10:00:00+02:00"),
        )
    )
    assert (result.conference.timezone, result.warnings) == ("Europe/Paris", [])


def test_not_a_c3voc_layout() -> None:
    with pytest.raises(
        ImportProblem, match=r"'schedule\.conference\.days' is missing or not a list"
    ):
        parse_schedule(b'{"schedule": {"conference": {"title": "x"}}}')


# --- frab -------------------------------------------------------------------------------------


def frab_event(guid: str = GUID_A, event_id: str = "1", inner: str = "", **fields: str) -> str:
    values = {
        "date": "2014-12-27T11:00:00+01:00",
        "start": "11:00",
        "duration": "00:30",
        "room": "Saal 1",
        "title": "Talk",
        "type": "lecture",
        "track": "CCC",
    }
    values.update(fields)
    children = "".join(f"<{k}>{v}</{k}>" for k, v in values.items() if v is not None)
    attributes = (f' guid="{guid}"' if guid else "") + (f' id="{event_id}"' if event_id else "")
    return f"<event{attributes}>{children}{inner}</event>"


def frab(*events: str, zone: str = "Europe/Berlin") -> bytes:
    return (
        "<?xml version='1.0' encoding='utf-8'?><schedule><version>1</version><conference>"
        f"<acronym>c</acronym><title>C</title><time_zone_name>{zone}</time_zone_name></conference>"
        "<day date='2014-12-27' index='1' start='2014-12-27T11:00:00+01:00' "
        "end='2014-12-28T04:00:00+01:00'>"
        f"<room name='Saal 1'>{''.join(events)}</room></day></schedule>"
    ).encode()


def test_frab_title_is_the_direct_child_not_a_nested_one() -> None:
    # The nested titles come first in document order, so a `.//title` lookup would pick them.
    nested = (
        "<links><link href='https://x.example/'><title>Link title</title></link></links>"
        "<attachments><attachment href='https://x.example/a.pdf'><title>Slides</title>"
        "</attachment></attachments>"
    )
    event_xml = frab_event(title=None).replace(
        'id="1">', f'id="1">{nested}<title>Real title</title>'
    )
    result = parse_schedule(frab(event_xml))
    (session,) = result.sessions
    assert session.title == "Real title"
    assert session.links == [ParsedLink("https://x.example/", "Link title")]
    assert result.warnings == []


def test_frab_missing_title_names_the_event_even_with_nested_titles() -> None:
    inner = "<links><link href='https://x.example/'><title>Link title</title></link></links>"
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(frab(frab_event(inner=inner, title=None)))
    assert (caught.value.message, caught.value.where) == (
        "has no <title>",
        f"event (guid {GUID_A})",
    )


def test_frab_billion_laughs_is_refused() -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE schedule [<!ENTITY lol0 "lol">{lol}]>'
        "<schedule><conference><title>&lol9;</title></conference></schedule>"
    ).encode()
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data)
    assert caught.value.message == "the XML declares entities (DTD); refused for safety"


def test_frab_duplicate_guid_empty_duration_and_non_uuid_guid() -> None:
    result = parse_schedule(
        frab(
            frab_event(guid="not-a-uuid", event_id="5", title="One", duration=""),
            frab_event(
                guid="not-a-uuid", event_id="6", title="Two", date="2014-12-27T12:00:00+01:00"
            ),
        )
    )
    assert [(s.key, s.guid, s.external_id) for s in result.sessions] == [
        ("not-a-uuid", None, 5),
        ("id:6", None, 6),
    ]
    assert result.sessions[0].start == result.sessions[0].end == utc(2014, 12, 27, 10, 0)
    assert result.warnings == [
        "event 'One' (guid not-a-uuid): empty duration, taken as 0 minutes",
        "event 'Two' (guid not-a-uuid): guid 'not-a-uuid' is also used by "
        "event 'One' (guid not-a-uuid); "
        "both kept, this one keyed 'id:6'",
    ]
    assert result.conference.timezone == "Europe/Berlin"


def test_frab_without_guid_uses_the_id_and_without_date_the_day() -> None:
    result = parse_schedule(
        frab(frab_event(guid="", event_id="42", date=None, start="00:15", duration="1:30:00"))
    )
    (session,) = result.sessions
    assert session.key == "id:42"
    # 00:15 is after the day's 11:00 start only on the next calendar date.
    assert (session.start, session.end) == (utc(2014, 12, 27, 23, 15), utc(2014, 12, 28, 0, 45))


def test_frab_event_with_neither_guid_nor_id() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(frab(frab_event(guid="", event_id="")))
    assert caught.value.message == "has neither a guid nor an id attribute"
    assert caught.value.where == "event 'Talk' (event #1)"


def test_frab_bad_duration_is_an_error_naming_the_event() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(frab(frab_event(duration="half an hour")))
    assert (caught.value.message, caught.value.where) == (
        "duration 'half an hour' is not HH:MM",
        f"event 'Talk' (guid {GUID_A})",
    )


def test_frab_entities_in_descriptions() -> None:
    result = parse_schedule(frab(frab_event(description="&lt;p&gt;Fish &amp;amp; chips&lt;/p&gt;")))
    assert result.sessions[0].description == "<p>Fish &amp; chips</p>"


def test_frab_thousand_events_parse_well_under_a_second() -> None:
    events = [
        frab_event(
            guid=f"00000000-0000-4000-8000-{i:012d}",
            event_id=str(i + 1),
            title=f"Talk {i}",
            date=f"2014-12-27T{11 + i // 120:02d}:{(i % 120) // 2:02d}:00+01:00",
            room=f"Room {i % 2}",
            duration="00:01",
            persons=f"<person id='{i % 50}'>P{i % 50}</person>",
        )
        for i in range(1000)
    ]
    data = frab(*events)
    result = parse_schedule(data)
    assert len(result.sessions) == 1000
    assert len(result.speakers) == 50


def test_event_without_guid_id_or_slug_gets_a_derived_key() -> None:
    result = parse_schedule(c3voc(event(guid=None, id=None, slug=None, title="Lunch break")))
    assert result.sessions[0].key == "lunch-break@2026-04-07T10:00:00+02:00"
    assert result.warnings == [
        "event 'Lunch break' (event #1): no guid, id or slug; keyed "
        "'lunch-break@2026-04-07T10:00:00+02:00'"
    ]
