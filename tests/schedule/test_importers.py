"""The importers on the real sample files, and the entry point: sniffing, decoding, size bound.

Expected counts are taken from the raw files with json / ElementTree, independently of the code.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest

from companion.schedule.importers import DEFAULT_MAX_BYTES, FORMATS, parse_schedule, sniff_format
from companion.schedule.interchange import ImportProblem, ParsedLink
from tests.conftest import SAMPLE_SCHEDULES

PYTORCH = SAMPLE_SCHEDULES / "pytorch-conf-eu-2026.schedule.json"
DEMOCON = SAMPLE_SCHEDULES / "pretalx-democon.schedule.json"
CCC31 = SAMPLE_SCHEDULES / "31c3.frab.xml"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def c3voc_events(path) -> list[dict]:
    conference = json.loads(path.read_bytes())["schedule"]["conference"]
    return [e for day in conference["days"] for events in day["rooms"].values() for e in events]


def by_key(schedule):
    return {s.key: s for s in schedule.sessions}


# --- the sample files -------------------------------------------------------------------------


def test_pytorch_sample() -> None:
    raw = c3voc_events(PYTORCH)
    result = parse_schedule(PYTORCH.read_bytes())

    assert result.format == "c3voc-json"
    assert len(result.sessions) == len(raw) == 21
    assert result.warnings == []
    conf = result.conference
    assert (conf.title, conf.acronym, conf.timezone) == (
        "PyTorch Conference Europe 2026",
        "pytorchconf-2026-eu",
        "Europe/Paris",
    )
    assert (conf.start_date, conf.end_date) == (date(2026, 4, 7), date(2026, 4, 8))
    assert [r.name for r in result.rooms] == [
        "Central Room",
        "Junior Stage",
        "Master Stage",
        "Founders Cafe",
    ]
    assert [r.position for r in result.rooms] == [0, 1, 2, 3]
    assert [t.name for t in result.tracks][:2] == [
        "Applications & Case Studies",
        "Inference & Production",
    ]
    assert len(result.tracks) == 7
    assert len(result.speakers) == len({p["guid"] for e in raw for p in e["persons"]})

    talk = by_key(result)["41a84130-598b-5413-bd05-40692f36ded2"]
    assert talk.title == (
        "Lightning Talk: Why Your Forecasting Transformer Isn\u2019t Working "
        "(And How To Fix It in Python)"
    )
    assert talk.room == "Central Room"
    assert (talk.start, talk.end) == (utc(2026, 4, 7, 9, 0), utc(2026, 4, 7, 9, 10))
    assert talk.track == "Applications & Case Studies"
    assert talk.type == "Lightning Talk"
    assert talk.guid == "41a84130-598b-5413-bd05-40692f36ded2"
    assert talk.external_id == 1
    assert talk.url is None  # "urn:uuid:..." is no web page
    assert talk.speakers == ["404c65bd-affb-5fcc-8c6d-ee699742a976"]
    speaker = next(s for s in result.speakers if s.key == talk.speakers[0])
    assert (speaker.name, speaker.organisation, speaker.position) == (
        "Rosheen Naeem",
        "Miro",
        "Software Engineer",
    )
    assert all(s.start.tzinfo is UTC and s.end >= s.start for s in result.sessions)
    assert [s.start for s in result.sessions] == sorted(s.start for s in result.sessions)


def test_pretalx_democon_trusts_the_dates_over_the_declared_zone() -> None:
    raw = c3voc_events(DEMOCON)
    result = parse_schedule(DEMOCON.read_bytes())

    assert len(result.sessions) == len(raw) == 36
    assert result.conference.timezone == "Etc/GMT-1"
    assert result.warnings == [
        "the file declares time zone 'UTC' but event 'Focused 5thgeneration hardware' "
        "(guid 8079583e-8321-506c-95af-fd2903a5f075) is dated 2020-12-14T09:00:00+01:00 (+01:00): "
        "the dates are trusted",
        "time zone taken as Etc/GMT-1 (UTC+01:00) from the dates' offsets: "
        "pass --timezone to set the real zone",
    ]
    talk = by_key(result)["8079583e-8321-506c-95af-fd2903a5f075"]
    # 09:00+01:00 is 08:00 UTC, not 09:00 UTC as the declared zone would have it.
    assert (talk.start, talk.end) == (utc(2020, 12, 14, 8, 0), utc(2020, 12, 14, 8, 30))
    assert talk.room == "Gray Room"
    assert talk.track == "Phased"
    assert talk.url == "http://localhost/democon/talk/G9JGWY/"
    assert talk.speakers == ["NQTF8Y"]  # a pretalx person: its code
    assert next(s.name for s in result.speakers if s.key == "NQTF8Y") == "Brian Robinson"
    # No conference tracks list: tracks come from the events, in order of first appearance.
    expected_tracks = list(dict.fromkeys(e["track"] for e in raw if e["track"]))
    assert [t.name for t in result.tracks] == expected_tracks
    assert (result.conference.start_date, result.conference.end_date) == (
        date(2020, 12, 14),
        date(2020, 12, 16),
    )


def test_pretalx_democon_with_the_organisers_zone() -> None:
    result = parse_schedule(DEMOCON.read_bytes(), timezone="Europe/Berlin")

    assert result.conference.timezone == "Europe/Berlin"
    assert result.warnings == []  # Berlin is +01:00 in December: the dates agree
    assert by_key(result)["8079583e-8321-506c-95af-fd2903a5f075"].start == utc(2020, 12, 14, 8, 0)


def test_31c3_frab_sample() -> None:
    root = ET.parse(CCC31).getroot()
    raw_events = root.findall("day/room/event")
    result = parse_schedule(CCC31.read_bytes())

    assert result.format == "frab-xml"
    assert len(result.sessions) == len(raw_events) == 138
    assert {s.key for s in result.sessions} == {e.get("guid") for e in raw_events}
    assert result.conference.title == "31. Chaos Communication Congress"
    assert result.conference.timezone == "Etc/GMT-1"
    assert result.warnings[-1] == (
        "time zone taken as Etc/GMT-1 (UTC+01:00) from the dates' offsets: "
        "pass --timezone to set the real zone"
    )
    assert result.warnings[0] == (
        "event 'Mr Beam goes Kickstarter' (guid 8283fa4f-a6eb-4296-a6a8-20c3f9d80a4c): "
        "link 'www.mr-beam.org' has no scheme, taken as 'http://www.mr-beam.org'"
    )
    assert [r.name for r in result.rooms] == ["Saal 1", "Saal 2", "Saal G", "Saal 6"]

    sessions = by_key(result)
    opening = sessions["29aecfd7-2e44-4f49-ab86-29b5e0877325"]
    assert opening.guid == "29aecfd7-2e44-4f49-ab86-29b5e0877325"
    assert (opening.title, opening.room, opening.track) == ("31C3 Opening Event", "Saal 1", "CCC")
    assert (opening.start, opening.end) == (utc(2014, 12, 27, 10, 0), utc(2014, 12, 27, 10, 30))
    assert opening.speakers == ["id:1544", "id:3874"]
    assert opening.external_id == 6561

    # A non-UUID guid: still the key, but not a guid.
    agenda = sessions["HOqeNIb6G7M4hYFKFRkCmQ"]
    assert agenda.guid is None
    assert agenda.title == "\u201eWir beteiligen uns aktiv an den Diskussionen\u201c"
    assert agenda.track == "Ethics, Society & Politics"
    assert agenda.language == "de"
    assert (agenda.start, agenda.end) == (utc(2014, 12, 27, 11, 45), utc(2014, 12, 27, 12, 45))
    assert agenda.speakers == ["id:4085"]
    assert next(s.name for s in result.speakers if s.key == "id:4085") == "Martin Haase/maha"
    assert agenda.links == [
        ParsedLink(
            url="http://breitband.deutschlandradiokultur.de/brb140823/",
            title="Maha kurz bei Breitband zu diesem Thema",
        )
    ]
    non_uuid = [e.get("guid") for e in raw_events if len(e.get("guid")) != 36]
    assert non_uuid and all(sessions[g].guid is None for g in non_uuid)


def test_speaker_keys_are_stable_across_imports() -> None:
    first = parse_schedule(CCC31.read_bytes())
    second = parse_schedule(CCC31.read_bytes())
    assert [s.key for s in first.speakers] == [s.key for s in second.speakers]
    assert [(s.key, s.speakers) for s in first.sessions] == [
        (s.key, s.speakers) for s in second.sessions
    ]


# --- sniffing and dispatch --------------------------------------------------------------------

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n"
SCHED_CSV = b"event_key,name,event_start,event_end\r\nk1,Talk,2026-04-07 10:00,2026-04-07 10:30\r\n"
SCHED_JSON = b'[{"event_key": "k1", "name": "Talk", "event_start": "2026-04-07 10:00"}]'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PYTORCH.read_bytes(), "c3voc-json"),
        (DEMOCON.read_bytes(), "c3voc-json"),
        (CCC31.read_bytes(), "frab-xml"),
        (b"\xef\xbb\xbf  \n" + ICS, "ical"),
        (SCHED_CSV, "sched-csv"),
        (SCHED_JSON, "sched-json"),
        (b'{"events": ' + SCHED_JSON + b"}", "sched-json"),
        (b"<?xml version='1.0'?>\n<!-- frab -->\n<!DOCTYPE schedule>\n<schedule/>", "frab-xml"),
    ],
)
def test_sniff_format_by_content(data: bytes, expected: str) -> None:
    assert sniff_format(data) == expected
    assert expected in FORMATS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"hello, world\nnothing here",
            "could not recognise the format: expected c3voc/pretalx JSON, "
            "frab XML, iCalendar, or a Sched CSV/JSON export (the file starts with 'hello, world')",
        ),
        (
            b'{"conference": {}}',
            "could not recognise the format: JSON, but neither a c3voc/pretalx "
            "schedule (an object with 'schedule') nor a Sched export (events with 'event_start')",
        ),
        (
            b"<!DOCTYPE html><html><body/></html>",
            "could not recognise the format: XML with root <html>, not a frab/pentabarf <schedule>",
        ),
        (
            b"",
            "could not recognise the format: expected c3voc/pretalx JSON, frab XML, iCalendar, "
            "or a Sched CSV/JSON export (the file starts with '')",
        ),
    ],
)
def test_unrecognised_input(data: bytes, message: str) -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data)
    assert caught.value.message == message


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(b'{"schedule": {\n  "conference": {,}\n}}')
    assert caught.value.message == "invalid JSON: Expecting property name enclosed in double quotes"
    assert caught.value.where == "line 2, column 18"


def test_malformed_xml_names_line() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(b"<schedule>\n<conference>\n</schedule>")
    assert caught.value.message == "malformed XML: mismatched tag"
    assert caught.value.where == "line 3, column 3"


def test_explicit_format_must_match_content() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(CCC31.read_bytes(), fmt="c3voc-json")
    assert caught.value.message == "the file was given as c3voc-json but its content is frab-xml"
    assert parse_schedule(CCC31.read_bytes(), fmt="frab-xml").format == "frab-xml"


def test_unknown_format_name() -> None:
    with pytest.raises(ImportProblem, match="unknown format 'pdf': use auto or one of c3voc-json"):
        parse_schedule(ICS, fmt="pdf")


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(PYTORCH.read_bytes(), timezone="Mars/Olympus")
    assert (
        caught.value.message
        == "unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Paris"
    )


# --- size and encoding ------------------------------------------------------------------------


def test_size_guard_names_size_and_limit() -> None:
    data = PYTORCH.read_bytes()
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data, max_bytes=1000)
    assert caught.value.message == (
        f"the file is {len(data) / 1024:.1f} KB ({len(data)} bytes), over the limit of 1000 bytes"
    )
    assert DEFAULT_MAX_BYTES == 200 * 1024 * 1024
    assert parse_schedule(data, max_bytes=len(data)).format == "c3voc-json"


def test_latin1_bytes_are_refused_naming_line_and_column() -> None:
    data = "event_key,name,event_start\nk1,Caf\u00e9 talk,2026-04-07 10:00\n".encode("latin-1")
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(data, timezone="Europe/Paris")
    assert caught.value.message == "not valid UTF-8 at line 2, column 7: save the file as UTF-8"


def test_column_counts_characters_not_bytes() -> None:
    data = "x\n\u00e9\u00e9\u00e9".encode() + b"\xff"
    with pytest.raises(
        ImportProblem, match=r"^not valid UTF-8 at line 2, column 4: save the file as UTF-8$"
    ):
        sniff_format(data)


def test_nul_bytes_are_refused() -> None:
    data = "BEGIN:VCALENDAR".encode("utf-16-le")
    with pytest.raises(
        ImportProblem,
        match=r"^a NUL byte at line 1, column 2 \(UTF-16 without a byte order mark\?\)",
    ):
        parse_schedule(data)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_byte_order_marks(encoding: str) -> None:
    text = "BEGIN:VCALENDAR\r\nX-WR-CALNAME:Caf\u00e9 Conf\r\nEND:VCALENDAR\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # the -be codec writes no mark itself
    result = parse_schedule(data, timezone="Europe/Paris")
    assert result.conference.title == "Caf\u00e9 Conf"


def test_xml_declaring_latin1_is_read_as_latin1() -> None:
    xml = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>\n"
        "<schedule><conference><title>K\u00f6ln Con</title>"
        "</conference></schedule>"
    ).encode("latin-1")
    assert parse_schedule(xml).conference.title == "K\u00f6ln Con"


def test_xml_declaring_an_unknown_encoding() -> None:
    with pytest.raises(ImportProblem) as caught:
        parse_schedule(b"<?xml version='1.0' encoding='klingon-8'?><schedule/>")
    assert (caught.value.message, caught.value.where) == (
        "the XML declaration names an unknown encoding 'klingon-8'",
        "line 1",
    )


def test_sniff_semicolon_csv_from_a_spreadsheet() -> None:
    assert sniff_format(b"\xef\xbb\xbfevent_key;name;event_start;event_end\r\n") == "sched-csv"
