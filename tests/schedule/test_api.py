"""The schedule JSON API: the document, single objects, filters, caching headers and errors."""

from __future__ import annotations

import gzip
from datetime import timedelta

from sqlalchemy import select

from companion.schedule.models import Room, Session, Speaker
from tests.factories import load_schedule, small_schedule


def _codes(db) -> dict[str, str]:
    return {s.source_key: s.code for s in db.scalars(select(Session))}


def test_schedule_document_has_every_part_with_offsets(client, db):
    load_schedule()
    codes = _codes(db)
    speakers = {s.source_key: s.code for s in db.scalars(select(Speaker))}

    response = client.get("/api/v1/schedule")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["conference"] == {"title": "Test Conf 2026", "acronym": "testconf-2026", "timezone": "Europe/Paris",
                                 "start": "2026-04-07", "end": "2026-04-08", "url": None}
    assert doc["rooms"] == [
        {"code": "master-stage", "name": "Master Stage", "building": "Pier 1", "capacity": 800},
        {"code": "junior-stage", "name": "Junior Stage", "building": "Pier 1", "capacity": 200},
        {"code": "founders-cafe", "name": "Founders Cafe", "building": "Pier 2", "capacity": 80},
    ]
    assert [t["code"] for t in doc["tracks"]] == ["community", "frameworks-compilers", "inference-production"]
    assert [s["name"] for s in doc["speakers"]] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    serving = next(s for s in doc["sessions"] if s["code"] == codes["s-serving"])
    assert serving == {
        "code": codes["s-serving"], "title": "Serving Models at Scale", "subtitle": None,
        "abstract": "Batching, caching, and the latency budget.", "description": None,
        "start": "2026-04-07T09:50:00+02:00", "end": "2026-04-07T10:15:00+02:00",
        "room": "junior-stage", "track": "inference-production", "type": "Talk", "level": "Advanced", "language": "en",
        "state": "confirmed", "sequence": 0, "speakers": [speakers["spk-alan"], speakers["spk-ada"]], "links": [],
        "updated_at": "2026-04-07T07:00:00Z",
    }
    assert [s["code"] for s in doc["sessions"]] == [codes[k] for k in (
        "s-keynote", "s-compilers", "s-serving", "s-lightning", "s-break", "s-workshop")]


def test_schedule_etag_304_gzip_and_invalidation(client, db):
    load_schedule()

    first = client.get("/api/v1/schedule")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert "Accept-Encoding" in first.headers["Vary"]

    not_modified = client.get("/api/v1/schedule", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.data == b""
    assert not_modified.headers["ETag"] == etag

    zipped = client.get("/api/v1/schedule", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == first.data

    parsed = small_schedule()
    parsed.sessions[0].start += timedelta(minutes=5)
    load_schedule(parsed)
    changed = client.get("/api/v1/schedule", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    keynote = next(s for s in changed.get_json()["sessions"] if s["title"] == "Opening Keynote")
    assert (keynote["start"], keynote["sequence"]) == ("2026-04-07T09:05:00+02:00", 1)


def test_schedule_before_any_import_is_a_404_problem(client, db):
    response = client.get("/api/v1/schedule")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"].startswith("No schedule has been imported yet")


def test_session_and_speaker_by_code(client, db):
    load_schedule()
    code = _codes(db)["s-keynote"]
    ada = db.scalars(select(Speaker).where(Speaker.source_key == "spk-ada")).one()

    session = client.get(f"/api/v1/sessions/{code}").get_json()
    speaker = client.get(f"/api/v1/speakers/{ada.code}").get_json()

    assert (session["title"], session["room"], session["links"]) == (
        "Opening Keynote", "master-stage", [{"url": "https://example.org/slides", "title": "Slides"}])
    assert speaker["name"] == "Ada Lovelace"
    codes = _codes(db)
    assert speaker["sessions"] == [codes["s-keynote"], codes["s-serving"]]


def test_unknown_codes_are_404_problems(client, db):
    load_schedule()

    for url in ("/api/v1/sessions/NOPE42", "/api/v1/speakers/NOPE42"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert "NOPE42" in response.get_json()["detail"]


def test_sessions_filters(client, db):
    load_schedule()

    by_day = client.get("/api/v1/sessions?day=2026-04-08").get_json()["sessions"]
    by_room = client.get("/api/v1/sessions?room=founders-cafe").get_json()["sessions"]
    by_track = client.get("/api/v1/sessions?track=inference-production&day=2026-04-07").get_json()["sessions"]
    by_text = client.get("/api/v1/sessions?q=grace").get_json()["sessions"]

    assert [s["title"] for s in by_day] == ["Hands-on: Profiling"]
    assert [s["title"] for s in by_room] == ["Lightning Talk: Tiny Tensors", "Coffee Break"]
    assert [s["title"] for s in by_track] == ["Serving Models at Scale"]
    assert [s["title"] for s in by_text] == ["Compilers for Everyone", "Hands-on: Profiling"]


def test_sessions_bad_parameters_are_400_problems_naming_the_parameter(client, db):
    load_schedule()

    cases = {
        "/api/v1/sessions?day=2026-13-45": "day",
        "/api/v1/sessions?room=nowhere": "room",
        "/api/v1/sessions?track=nothing": "track",
        "/api/v1/sessions?state=maybe": "state",
        "/api/v1/sessions?colour=red": "colour",
    }
    for url, parameter in cases.items():
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert [e["loc"] for e in body["errors"]] == [parameter], url
        assert parameter in body["detail"]


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/schedule", "/api/v1/sessions", "/api/v1/sessions/{code}", "/api/v1/speakers/{code}",
            "/api/v1/health"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/api/v1/sessions"]["get"]["parameters"]}
    assert params == {"day", "room", "track", "state", "q"}


def test_health_is_ok_without_a_database_row(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok"}


def test_unknown_api_path_is_a_problem_not_html(client):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Not Found"


def test_room_codes_are_slugs(db):
    load_schedule()
    assert db.scalars(select(Room.slug).order_by(Room.position)).all() == ["master-stage", "junior-stage", "founders-cafe"]


def test_api_and_pages_agree_on_the_day_of_a_late_session(client, db, clock):
    from tests.factories import DAY_ONE
    from companion.schedule.interchange import ParsedSession

    clock.set(DAY_ONE + timedelta(days=30))  # after the conference: no "now / next" block on the pages
    parsed = small_schedule()
    late_start = DAY_ONE + timedelta(hours=15, minutes=30)  # 00:30 in Paris on 8 April
    parsed.sessions.append(ParsedSession(key="s-late", title="Late Night Hacking", start=late_start,
                                         end=late_start + timedelta(hours=1), room="Founders Cafe"))
    load_schedule(parsed)

    api_day_one = [s["title"] for s in client.get("/api/v1/sessions?day=2026-04-07").get_json()["sessions"]]
    api_day_two = [s["title"] for s in client.get("/api/v1/sessions?day=2026-04-08").get_json()["sessions"]]
    page_day_one = client.get("/schedule?day=2026-04-07").get_data(as_text=True)
    page_day_two = client.get("/schedule?day=2026-04-08").get_data(as_text=True)

    assert api_day_one[-1] == "Late Night Hacking" and "Late Night Hacking" not in api_day_two
    assert "Late Night Hacking" in page_day_one and "Late Night Hacking" not in page_day_two


def test_api_search_matches_every_word_like_the_page(client, db):
    load_schedule()

    both_words = client.get("/api/v1/sessions?q=models%20scale").get_json()["sessions"]
    wildcard = client.get("/api/v1/sessions?q=%25").get_json()["sessions"]

    assert [s["title"] for s in both_words] == ["Serving Models at Scale"]
    assert wildcard == []
