"""Values the database cannot hold, made to fit by the builder, whatever the format.

PostgreSQL refuses an over-long VARCHAR, an integer out of range or a NUL with a raw DataError;
SQLite stores them. The importers make every value fit the model's columns, with a warning.
"""

from __future__ import annotations

import hashlib

import pytest

from companion.codes import slugify
from companion.schedule.importers import limits, parse_schedule
from companion.schedule.models import Room, Session, Speaker
from tests.schedule.test_import_c3voc_frab import GUID_A, c3voc, event, frab, frab_event
from tests.schedule.test_import_ical_sched import ics

LABEL = f"event 'Talk' (guid {GUID_A})"


def sha(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def test_limits_are_the_model_columns() -> None:
    assert limits.SESSION_TEXT["title"] == Session.__table__.c.title.type.length == 500
    assert limits.SESSION_TEXT["language"] == Session.__table__.c.language.type.length == 20
    assert limits.SESSION_KEY == Session.__table__.c.source_key.type.length == 200
    assert limits.SPEAKER_KEY == Speaker.__table__.c.source_key.type.length == 200
    assert limits.ROOM_NAME == Room.__table__.c.slug.type.length == 120  # the slug is shorter
    assert (limits.SESSION_SLUG, limits.SESSION_URL) == (300, 500)
    assert limits.SESSION_EXTERNAL_ID == (-(2**31), 2**31 - 1)


def test_overlong_title_is_shortened_with_a_warning_naming_the_event() -> None:
    result = parse_schedule(c3voc(event(title="T" * 600)))

    (session,) = result.sessions
    assert session.title == "T" * 499 + "…"
    assert result.warnings == [
        f"event '{'T' * 119}…' (guid {GUID_A}): title longer than 500 characters, shortened"
    ]


def test_overlong_language_subtitle_type_and_level_are_shortened() -> None:
    result = parse_schedule(
        c3voc(
            event(
                language="English (with German translation)",
                subtitle="s" * 501,
                type="t" * 101,
                level="l" * 51,
            )
        )
    )

    (session,) = result.sessions
    assert session.language == "English (with Germa…"
    assert (session.subtitle, session.type, session.level) == (
        "s" * 499 + "…",
        "t" * 99 + "…",
        "l" * 49 + "…",
    )
    assert result.warnings == [
        f"{LABEL}: subtitle longer than 500 characters, shortened",
        f"{LABEL}: type longer than 100 characters, shortened",
        f"{LABEL}: level longer than 50 characters, shortened",
        f"{LABEL}: language longer than 20 characters, shortened",
    ]


def test_overlong_slug_is_cut_and_overlong_url_left_out() -> None:
    result = parse_schedule(c3voc(event(slug="s" * 301, url="https://conf.example/" + "u" * 480)))

    (session,) = result.sessions
    assert (session.slug, session.url) == ("s" * 300, None)
    assert result.warnings == [
        f"{LABEL}: slug longer than 300 characters, shortened",
        f"{LABEL}: url longer than 500 characters, left out",
    ]


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1])
def test_external_id_out_of_the_integer_column_is_left_out(value: int) -> None:
    result = parse_schedule(c3voc(event(id=value)))

    assert result.sessions[0].external_id is None
    assert result.warnings == [f"{LABEL}: id {value} is out of range, left out"]


def test_external_id_at_the_edge_of_the_column_is_kept() -> None:
    assert parse_schedule(c3voc(event(id=2**31 - 1))).sessions[0].external_id == 2**31 - 1


def test_overlong_room_and_track_names_fit_their_slugs() -> None:
    result = parse_schedule(c3voc(event(room="R" * 201, track="K" * 121)))

    (session,) = result.sessions
    room, track = "R" * 119 + "…", "K" * 119 + "…"
    assert (session.room, session.track) == (room, track)
    assert [r.name for r in result.rooms] == [room]
    assert [t.name for t in result.tracks] == [track]
    assert result.warnings == [
        f"room '{'R' * 59}…': name too long (at most 120 characters, for its web address too), "
        f"shortened to '{room}'",
        f"track '{'K' * 59}…': name too long (at most 120 characters, for its web address too), "
        f"shortened to '{track}'",
    ]


def test_room_name_whose_slug_grows_is_shortened_until_the_slug_fits() -> None:
    # NFKD spells the ligature "ﬃ" as "ffi": 100 characters make a 300-character slug.
    result = parse_schedule(c3voc(event(room="ﬃ" * 100)))

    (room,) = result.rooms
    assert len(slugify(room.name)) <= 120
    assert room.name == "ﬃ" * 40 + "…"  # "…" is "..." in NFKD: no slug characters
    assert result.sessions[0].room == room.name


def test_overlong_session_key_is_replaced_by_a_stable_hash() -> None:
    guid = "g" * 201
    result = parse_schedule(c3voc(event(guid=guid, id=None)))

    assert result.sessions[0].key == sha(guid)
    assert parse_schedule(c3voc(event(guid=guid, id=None))).sessions[0].key == sha(guid)
    assert result.warnings == [
        f"event 'Talk' (guid {'g' * 94}…): guid longer than 200 characters, "
        f"keyed '{sha(guid)}' instead"
    ]


def test_two_overlong_session_keys_that_clash_stay_apart() -> None:
    slug = "s" * 250
    result = parse_schedule(
        c3voc(
            event(guid=None, id=None, slug=slug, title="A"),
            event(guid=None, id=None, slug=slug, title="B", date="2026-04-07T11:00:00+02:00"),
        )
    )

    assert [s.key for s in result.sessions] == [sha(slug), sha(f"{slug}#2")]


def test_overlong_speaker_key_and_name() -> None:
    persons = [{"guid": "p" * 201, "name": "N" * 201, "organisation": "O" * 201}]
    result = parse_schedule(c3voc(event(persons=persons)))

    (speaker,) = result.speakers
    assert (speaker.key, speaker.name, speaker.organisation) == (
        sha("p" * 201),
        "N" * 199 + "…",
        "O" * 199 + "…",
    )
    assert result.sessions[0].speakers == [sha("p" * 201)]
    who = f"speaker '{'N' * 59}…'"
    assert result.warnings == [
        f"{who}: key longer than 200 characters, keyed '{sha('p' * 201)}' instead",
        f"{who}: name longer than 200 characters, shortened",
        f"{who}: organisation longer than 200 characters, shortened",
    ]


def test_nul_and_control_characters_are_stripped_from_every_text() -> None:
    result = parse_schedule(
        c3voc(
            event(
                guid="g\x00uid-1",
                title="Ta\x00lk\x1b[31m",
                abstract="line\r\none\rtwo\x7f\x85\tend",
                room="Ha\x00ll",
                persons=[{"code": "A\x00B", "name": "A\x01da"}],
                links=[{"url": "https://x.example/\x00a", "title": "Sl\x00ides"}],
            )
        )
    )

    (session,) = result.sessions
    assert (session.key, session.title, session.room) == ("guid-1", "Talk[31m", "Hall")
    assert session.abstract == "line\none\ntwo\tend"
    assert session.speakers == ["AB"] and result.speakers[0].name == "Ada"
    assert [(x.url, x.title) for x in session.links] == [("https://x.example/a", "Slides")]
    assert [r.name for r in result.rooms] == ["Hall"]


def test_keys_equal_once_cleaned_are_told_apart_as_duplicates() -> None:
    result = parse_schedule(
        c3voc(event(guid="k", id=1), event(guid="k\x00", id=2, date="2026-04-07T11:00:00+02:00"))
    )
    assert [s.key for s in result.sessions] == ["k", "id:2"]


def test_lone_surrogate_from_a_json_escape_becomes_a_replacement_character() -> None:
    data = c3voc(event(title="Talk \\ud800")).replace(b"\\\\ud800", b"\\ud800")

    assert parse_schedule(data).sessions[0].title == "Talk \ufffd"


def test_frab_and_ical_go_through_the_same_limits() -> None:
    frab_result = parse_schedule(frab(frab_event(title="F" * 600, language="deutsch" * 3)))
    ical_result = parse_schedule(
        ics("UID:u1\nSUMMARY:" + "I" * 600 + "\nDTSTART:20260407T090000Z\nLOCATION:" + "L" * 130)
    )

    assert len(frab_result.sessions[0].title) == len(ical_result.sessions[0].title) == 500
    assert frab_result.sessions[0].language == "deutschdeutschdeuts…"
    assert ical_result.rooms[0].name == "L" * 119 + "…"


def test_overlong_conference_title_and_out_of_range_capacity() -> None:
    result = parse_schedule(
        c3voc(event(), title="C" * 201, rooms=[{"name": "Hall", "capacity": 2**31}])
    )

    assert result.conference.title == "C" * 199 + "…"
    assert result.rooms[0].capacity is None
    assert result.warnings == [
        "room 'Hall': capacity 2147483648 is out of range, left out",
        "the conference: title longer than 200 characters, shortened",
    ]
