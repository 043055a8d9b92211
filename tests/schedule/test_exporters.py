"""The exporters: valid against the c3voc schema and the frab XSD, exact values, stable iCalendar."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import jsonschema
import pytest
import xmlschema
from sqlalchemy import select

from companion.errors import Problem
from companion.codes import code_number
from companion.schedule import queries
from companion.schedule.exporters import EXPORTS, load_export_data, render_export
from companion.schedule.exporters.common import (
    ACRONYM_RE,
    conference_day,
    event_identities,
    hhmm_duration,
    sanitise_acronym,
    speaker_guid,
)
from companion.schedule.exporters.ical import session_uid
from companion.schedule.interchange import ParsedLink, ParsedSession, ParsedSpeaker
from companion.schedule.models import Session, Speaker
from companion.schedule.records import SESSION_COLUMNS
from tests.conftest import SCHEMAS
from tests.factories import DAY_ONE, load_schedule, small_schedule
from tests.realparts import missing

BASE = "https://companion.example.org/"
PARIS = ZoneInfo("Europe/Paris")


def _render(fmt: str) -> bytes:
    return render_export(fmt, base_url=BASE)


def _json_errors(document: dict) -> list[str]:
    schema = json.loads((SCHEMAS / "c3voc-schedule.schema.json").read_text())
    needed = {"date-time", "uri"}
    if not needed <= set(jsonschema.Draft6Validator.FORMAT_CHECKER.checkers):
        missing("jsonschema format checkers", "install jsonschema[format-nongpl] (rfc3339-validator, rfc3986-validator)")
    errors = []
    # Draft 6's own checker, then every format jsonschema knows (uuid, date and color are not draft-6 formats).
    for checker in (jsonschema.Draft6Validator.FORMAT_CHECKER, jsonschema.FormatChecker()):
        validator = jsonschema.Draft6Validator(schema, format_checker=checker)
        errors += [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    return errors


def _xml_errors(data: bytes) -> list[str]:
    schema = xmlschema.XMLSchema(str(SCHEMAS / "frab-schedule.xml.xsd"))
    return [str(e.reason) + " at " + str(e.path) for e in schema.iter_errors(data.decode("utf-8"))]


def _lxml_root(data: bytes) -> Any:
    try:
        from lxml import etree
    except ImportError:
        missing("lxml", "pip install lxml (a test dependency: the XML export is re-parsed with it)")
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def _session(db, key: str) -> Session:
    return db.scalars(select(Session).where(Session.source_key == key)).one()


def _json_events(document: dict) -> list[dict]:
    return [e for day in document["schedule"]["conference"]["days"] for events in day["rooms"].values() for e in events]


def _awkward_schedule():
    """The small schedule plus a session with markup, a control character, no room, track or type,
    a link that is no URL, a slug neither schema accepts, and a start at 01:30 local time."""
    parsed = small_schedule()
    parsed.conference.acronym = "Test Conf 2026!"
    parsed.speakers.append(ParsedSpeaker("spk-x", "Zoë <Z> & Co", None))
    parsed.sessions.append(ParsedSession(
        key="s-night", title="<b>Tom & Jerry</b>\x01 late", start=datetime(2026, 4, 7, 23, 30, tzinfo=UTC),
        end=datetime(2026, 4, 8, 0, 15, tzinfo=UTC), abstract="a < b && c > d", slug="Not A Slug!",
        speakers=["spk-x"], links=[ParsedLink("javascript:alert(1)", "bad"), ParsedLink("https://example.org/v", "")],
    ))
    return parsed


def _without(key: str):
    parsed = small_schedule()
    parsed.sessions = [s for s in parsed.sessions if s.key != key]
    return parsed


def test_sanitise_acronym_keeps_valid_and_repairs_the_rest():
    cases = {
        "pytorchconf-2026-eu": "pytorchconf-2026-eu",
        "36c3": "36c3",
        "testconf-2026": "testconf_2026",
        "my-conf-2026-eu": "my_conf-2026-eu",
        "PyCon DE 2026": "pycon_de_2026",
        "rc3": "rc3_",
        "Test Conf 2026!": "test_conf_2026_",
    }
    assert {given: sanitise_acronym(given) for given in cases} == cases
    assert all(ACRONYM_RE.match(value) for value in cases.values())


def test_conference_day_runs_from_four_to_four():
    assert conference_day(datetime(2026, 4, 7, 21, 59, tzinfo=UTC), PARIS) == date(2026, 4, 7)  # 23:59 local
    assert conference_day(datetime(2026, 4, 7, 22, 0, tzinfo=UTC), PARIS) == date(2026, 4, 7)  # 00:00 local on the 8th
    assert conference_day(datetime(2026, 4, 8, 1, 59, tzinfo=UTC), PARIS) == date(2026, 4, 7)  # 03:59 local
    assert conference_day(datetime(2026, 4, 8, 2, 0, tzinfo=UTC), PARIS) == date(2026, 4, 8)  # 04:00 local
    assert conference_day(datetime(2026, 4, 8, 2, 0, tzinfo=UTC), ZoneInfo("UTC")) == date(2026, 4, 7)  # 02:00 UTC
    assert hhmm_duration(DAY_ONE, DAY_ONE + timedelta(minutes=95)) == "01:35"
    assert hhmm_duration(DAY_ONE, DAY_ONE + timedelta(days=5)) == "99:59"


def test_event_identities_are_unique_and_prefer_the_source():
    codes = {1: "AAAAAA", 2: "AAAAAC", 3: "AAAAAB", 4: "AAAAAE", 5: "AAAAAF"}  # numbers 1, 3, 2, 5, 6

    def s(id_: int, external: int | None, slug: str | None) -> Session:
        return Session(id=id_, external_id=external, slug=slug, code=codes[id_], title="Talk Title",
                       guid=f"00000000-0000-0000-0000-00000000000{id_}")

    sessions = [s(1, 3, "conf-valid-slug"), s(2, 7, "conf-valid-slug"), s(3, 7, "x"), s(4, None, None), s(5, 0, None)]
    ids = event_identities(sessions, "conf-2026-eu")

    # Session 1 keeps its source id 3; 7 is shared, so sessions 2 and 3 take their code numbers,
    # and session 2's number (3) is taken, so it moves up. Database ids never appear.
    assert {k: v.id for k, v in ids.items()} == {1: 3, 2: 1_000_000_003, 3: 2, 4: 5, 5: 6}
    assert [ids[k].slug for k in (1, 2, 3, 4)] == [
        "conf-valid-slug", "conf_2026_eu-1000000003-talk-title", "conf_2026_eu-2-talk-title", "conf_2026_eu-5-talk-title"]
    assert [ids[k].guid for k in (1, 5)] == ["00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000005"]


def test_json_export_is_valid_against_the_c3voc_schema(db):
    load_schedule(_awkward_schedule())

    document = json.loads(_render("json"))

    assert _json_errors(document) == []
    assert document["schedule"]["conference"]["acronym"] == "test_conf_2026_"


def test_json_export_has_exact_values_for_a_known_session(db):
    load_schedule()
    serving = _session(db, "s-serving")
    alan, ada = (db.scalars(select(Speaker).where(Speaker.source_key == k)).one() for k in ("spk-alan", "spk-ada"))

    document = json.loads(_render("json"))

    conference = document["schedule"]["conference"]
    assert document["schedule"]["version"] == "1"
    assert {k: v for k, v in conference.items() if k not in ("rooms", "tracks", "days")} == {
        "acronym": "testconf_2026", "title": "Test Conf 2026", "start": "2026-04-07", "end": "2026-04-08",
        "daysCount": 2, "timeslot_duration": "00:05", "time_zone_name": "Europe/Paris",
    }
    assert conference["tracks"][1] == {"name": "Frameworks & Compilers", "slug": "frameworks-compilers", "color": "#d62728"}
    assert [(r["name"], r["capacity"]) for r in conference["rooms"]] == [
        ("Master Stage", 800), ("Junior Stage", 200), ("Founders Cafe", 80)]
    day_one = conference["days"][0]
    assert (day_one["index"], day_one["date"], day_one["day_start"], day_one["day_end"]) == (
        1, "2026-04-07", "2026-04-07T04:00:00+02:00", "2026-04-08T03:59:00+02:00")
    assert list(day_one["rooms"]) == ["Master Stage", "Junior Stage", "Founders Cafe"]
    assert day_one["rooms"]["Junior Stage"] == [{
        "guid": serving.guid, "id": code_number(serving.code), "date": "2026-04-07T09:50:00+02:00", "start": "09:50",
        "end": "2026-04-07T10:15:00+02:00", "duration": "00:25", "room": "Junior Stage",
        "slug": f"testconf_2026-{code_number(serving.code)}-serving-models-at-scale", "url": f"{BASE}sessions/{serving.code}",
        "title": "Serving Models at Scale", "subtitle": None, "track": "Inference & Production", "type": "Talk",
        "language": "en", "abstract": "Batching, caching, and the latency budget.", "description": None,
        "persons": [
            {"id": code_number(alan.code), "guid": speaker_guid(alan), "code": alan.code, "name": "Alan Turing", "biography": None},
            {"id": code_number(ada.code), "guid": speaker_guid(ada), "code": ada.code, "name": "Ada Lovelace",
             "biography": "Wrote the first program."},
        ],
        "links": [], "code": serving.code,
    }]
    assert [e["title"] for e in conference["days"][1]["rooms"]["Junior Stage"]] == ["Hands-on: Profiling"]


def test_session_after_midnight_belongs_to_the_previous_day(db):
    load_schedule(_awkward_schedule())

    document = json.loads(_render("json"))
    root = _lxml_root(_render("xml"))

    day_one = document["schedule"]["conference"]["days"][0]
    night = day_one["rooms"][""][0]
    assert (night["date"], night["start"], night["duration"], night["room"], night["track"], night["type"]) == (
        "2026-04-08T01:30:00+02:00", "01:30", "00:45", "", None, "")
    assert night["links"] == [{"url": "https://example.org/v", "title": "https://example.org/v"}]
    assert root.xpath("day[@index='1']/room[@name='']/event/title/text()") == ["<b>Tom & Jerry</b> late"]


def test_xml_export_is_valid_against_the_frab_xsd(db):
    load_schedule(_awkward_schedule())

    data = _render("xml")

    assert _xml_errors(data) == []
    assert _lxml_root(data).tag == "schedule"


def test_xml_export_has_exact_values_for_a_known_session(db):
    load_schedule()
    serving = _session(db, "s-serving")

    root = _lxml_root(_render("xml"))

    assert root.findtext("version") == "1"
    assert [root.findtext(f"conference/{tag}") for tag in ("acronym", "title", "start", "end", "days", "time_zone_name")] == [
        "testconf_2026", "Test Conf 2026", "2026-04-07", "2026-04-08", "2", "Europe/Paris"]
    assert [(d.get("index"), d.get("date"), d.get("start")) for d in root.iter("day")] == [
        ("1", "2026-04-07", "2026-04-07T04:00:00+02:00"), ("2", "2026-04-08", "2026-04-08T04:00:00+02:00")]
    event = root.xpath(f"day/room[@name='Junior Stage']/event[@guid='{serving.guid}']")[0]
    assert (event.get("id"), event.get("code")) == (str(code_number(serving.code)), serving.code)
    fields = ("date", "start", "duration", "room", "slug", "url", "title", "track", "type", "language", "abstract")
    assert {f: event.findtext(f) for f in fields} == {
        "date": "2026-04-07T09:50:00+02:00", "start": "09:50", "duration": "00:25", "room": "Junior Stage",
        "slug": f"testconf_2026-{code_number(serving.code)}-serving-models-at-scale", "url": f"{BASE}sessions/{serving.code}",
        "title": "Serving Models at Scale", "track": "Inference & Production", "type": "Talk", "language": "en",
        "abstract": "Batching, caching, and the latency budget.",
    }
    assert event.xpath("persons/person/text()") == ["Alan Turing", "Ada Lovelace"]
    keynote = root.xpath("day/room/event[title='Opening Keynote']")[0]
    assert [(link.get("href"), link.text) for link in keynote.iter("link")] == [("https://example.org/slides", "Slides")]


def test_cancelled_session_left_out_of_json_and_xml_kept_in_ics(db):
    load_schedule()
    load_schedule(_without("s-break"), now=DAY_ONE + timedelta(hours=1))
    cancelled = _session(db, "s-break")
    assert (cancelled.state, cancelled.sequence) == ("cancelled", 1)

    events = _json_events(json.loads(_render("json")))
    root = _lxml_root(_render("xml"))
    calendar = icalendar.Calendar.from_ical(_render("ics"))

    assert len(events) == 5 and "Coffee Break" not in [e["title"] for e in events]
    assert len(root.xpath("day/room/event")) == 5 and root.xpath("//event[title='Coffee Break']") == []
    by_uid = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(by_uid) == 6
    event = by_uid[f"{cancelled.guid}@conference-companion"]
    assert (str(event["SUMMARY"]), str(event["STATUS"]), event["SEQUENCE"]) == ("Coffee Break", "CANCELLED", 1)
    assert {str(e["STATUS"]) for uid, e in by_uid.items() if uid != session_uid(cancelled)} == {"CONFIRMED"}


def test_ics_export_parses_with_timezone_and_exact_event(db):
    load_schedule()
    serving = _session(db, "s-serving")
    alan = db.scalars(select(Speaker).where(Speaker.source_key == "spk-alan")).one()

    calendar = icalendar.Calendar.from_ical(_render("ics"))

    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert (str(calendar["X-WR-CALNAME"]), str(calendar["X-WR-TIMEZONE"]), str(calendar["X-PUBLISHED-TTL"])) == (
        "Test Conf 2026", "Europe/Paris", "PT1H")
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    event = next(e for e in calendar.walk("VEVENT") if str(e["UID"]) == f"{serving.guid}@conference-companion")
    assert event["DTSTART"].dt == datetime(2026, 4, 7, 9, 50, tzinfo=PARIS)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event["DTEND"].dt == datetime(2026, 4, 7, 10, 15, tzinfo=PARIS)
    assert event["DTSTAMP"].dt == DAY_ONE and event["LAST-MODIFIED"].dt == DAY_ONE
    assert (event["SEQUENCE"], str(event["SUMMARY"]), str(event["LOCATION"]), str(event["STATUS"])) == (
        0, "Serving Models at Scale", "Junior Stage, Pier 1", "CONFIRMED")
    assert str(event["DESCRIPTION"]) == "Batching, caching, and the latency budget.\n\nSpeakers: Alan Turing, Ada Lovelace"
    assert event["CATEGORIES"].cats == ["Inference & Production"]
    assert str(event["URL"]) == f"{BASE}sessions/{serving.code}"
    assert (str(event["X-COMPANION-TYPE"]), str(event["X-COMPANION-LEVEL"])) == ("Talk", "Advanced")
    attendees = event["ATTENDEE"]
    assert [(str(a), a.params["CN"], a.params["ROLE"]) for a in attendees] == [
        (f"urn:companion:speaker:{alan.code}", "Alan Turing", "REQ-PARTICIPANT"),
        (f"urn:companion:speaker:{_session(db, 's-serving').speakers[1].code}", "Ada Lovelace", "REQ-PARTICIPANT"),
    ]


def test_ics_uids_stable_across_renders_and_reimport(db):
    load_schedule()
    first = _render("ics")
    assert _render("ics") == first
    moved = small_schedule()
    serving = next(s for s in moved.sessions if s.key == "s-serving")
    serving.start, serving.end = serving.start + timedelta(hours=2), serving.end + timedelta(hours=2)
    load_schedule(moved, now=DAY_ONE + timedelta(hours=1))

    before = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(first).walk("VEVENT")}
    after = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(_render("ics")).walk("VEVENT")}

    assert set(after) == set(before) and len(after) == 6
    uid = session_uid(_session(db, "s-serving"))
    assert (before[uid]["SEQUENCE"], after[uid]["SEQUENCE"]) == (0, 1)
    assert before[uid]["DTSTART"].dt == datetime(2026, 4, 7, 9, 50, tzinfo=PARIS)
    assert after[uid]["DTSTART"].dt == datetime(2026, 4, 7, 11, 50, tzinfo=PARIS)
    assert after[uid]["DTSTAMP"].dt == DAY_ONE + timedelta(hours=1)
    assert {u: e["SEQUENCE"] for u, e in after.items() if u != uid} == {u: 0 for u in after if u != uid}


def test_render_export_before_any_import_is_a_404_problem(db):
    with pytest.raises(Problem) as raised:
        render_export("json")
    assert (raised.value.status, raised.value.detail) == (
        404, "No schedule has been imported yet: staff import one with `companion schedule import FILE`.")
    assert [(fmt, e.filename, e.mimetype) for fmt, e in EXPORTS.items()] == [
        ("json", "schedule.json", "application/json"), ("xml", "schedule.xml", "application/xml"),
        ("ics", "schedule.ics", "text/calendar")]


def test_export_of_a_thousand_sessions_has_every_session(db):
    """Size, not speed: timings belong in bench/, not in tests."""
    parsed = small_schedule()
    parsed.speakers = [ParsedSpeaker(f"spk-{n}", f"Speaker {n}", "Bio " * 20) for n in range(400)]
    rooms = [r.name for r in parsed.rooms]
    parsed.sessions = [
        ParsedSession(key=f"s-{n}", title=f"Session {n}", start=DAY_ONE + timedelta(minutes=30 * (n // 3)),
                      end=DAY_ONE + timedelta(minutes=30 * (n // 3) + 25), room=rooms[n % 3], track="Community",
                      abstract="Text " * 60, speakers=[f"spk-{n % 400}", f"spk-{(n + 1) % 400}"])
        for n in range(1000)
    ]
    load_schedule(parsed)

    counts = {fmt: _render(fmt).count(marker) for fmt, marker in
              (("json", b'"guid":'), ("xml", b"<event "), ("ics", b"BEGIN:VEVENT"))}

    assert counts["xml"] == counts["ics"] == 1000
    assert counts["json"] == 1000 + 2 * 1000 + 3  # each session, its two speakers, and the rooms carry a guid


def test_exports_read_records_equal_to_the_orm_sessions(db):
    """The exports read sessions as plain records (cheaper): each must carry what its ORM session does."""
    parsed = _awkward_schedule()
    parsed.sessions[0].speakers = ["spk-x", "spk-ada"]  # billed in another order than their ids
    load_schedule(parsed)
    parsed.sessions = [s for s in parsed.sessions if s.key != "s-break"]
    load_schedule(parsed, now=DAY_ONE + timedelta(hours=1))  # the break is cancelled: sequence 1
    data = load_export_data(BASE)
    orm = queries.all_sessions(include_cancelled=True)

    def as_orm(session) -> tuple:
        return (*(getattr(session, name) for name in SESSION_COLUMNS), session.room, session.track,
                [(s.id, s.code, s.name, s.biography) for s in session.speakers])

    assert [as_orm(record) for record in data.sessions] == [as_orm(session) for session in orm]
    assert {len(s.speakers) for s in data.sessions} >= {0, 1, 2} and any(s.is_cancelled for s in data.sessions)
    for fmt, export in EXPORTS.items():
        assert export.render(data) == export.render(dataclasses.replace(data, sessions=orm)), fmt


def test_session_urls_follow_the_base_url_or_fall_back_to_localhost(db):
    load_schedule()
    keynote = _session(db, "s-keynote")

    under_path = json.loads(render_export("json", base_url="https://example.org/companion"))
    without_base = json.loads(render_export("json"))

    assert _json_events(under_path)[0]["url"] == f"https://example.org/companion/sessions/{keynote.code}"
    assert _json_events(without_base)[0]["url"] == f"http://localhost/sessions/{keynote.code}"
    with pytest.raises(ValueError, match="not an absolute http"):
        render_export("ics", base_url="ftp://example.org/")
