"""The export routes: content types, ETag and 304, gzip, HEAD, invalidation, 404 before import."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import icalendar
import pytest

from companion.schedule.exporters import render_export
from tests.factories import DAY_ONE, load_schedule, small_schedule

CONTENT_TYPES = {
    "json": "application/json",
    "xml": "application/xml; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
}


def _url(fmt: str) -> str:
    return f"/schedule/export/schedule.{fmt}"


@pytest.fixture
def public_url(app):
    """Run the test as production does: with PUBLIC_URL set."""
    app.config["PUBLIC_URL"] = "https://conf.example.org"
    yield app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = None


@pytest.mark.parametrize("fmt", ["json", "xml", "ics"])
def test_export_route_serves_the_rendered_document(client, db, public_url, fmt):
    load_schedule()

    response = client.get(_url(fmt), base_url="http://evil.example")

    assert response.status_code == 200
    assert response.content_type == CONTENT_TYPES[fmt]
    assert response.data == render_export(fmt, base_url=public_url)
    assert b"evil.example" not in response.data
    assert response.headers["Content-Disposition"] == f"inline; filename=schedule.{fmt}"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert "Content-Encoding" not in response.headers
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34


def test_export_route_urls_point_at_the_session_pages(client, db):
    load_schedule()

    document = client.get(_url("json"), base_url="https://companion.example.org").get_json()

    urls = [e["url"] for day in document["schedule"]["conference"]["days"] for es in day["rooms"].values() for e in es]
    assert len(urls) == 6
    assert all(u.startswith("https://companion.example.org/sessions/") for u in urls)
    assert client.get(urls[0].removeprefix("https://companion.example.org")).status_code == 200


def test_export_without_public_url_follows_the_host_and_is_private(client, db):
    load_schedule()

    mine = client.get(_url("json"), base_url="https://companion.example.org")
    forged = client.get(_url("json"), base_url="http://evil.example")
    again = client.get(_url("json"), base_url="https://companion.example.org")

    assert mine.headers["Cache-Control"] == forged.headers["Cache-Control"] == "private, max-age=60"
    assert b"evil.example" in forged.data and b"evil.example" not in again.data
    assert again.data == mine.data


@pytest.mark.parametrize("fmt", ["json", "xml", "ics"])
def test_export_route_if_none_match_gives_304(client, db, public_url, fmt):
    load_schedule()
    etag = client.get(_url(fmt)).headers["ETag"]

    response = client.get(_url(fmt), headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize("fmt", ["json", "xml", "ics"])
def test_export_route_gzip_when_accepted(client, db, fmt):
    load_schedule()
    plain = client.get(_url(fmt))

    zipped = client.get(_url(fmt), headers={"Accept-Encoding": "gzip, deflate, br"})

    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.content_type == CONTENT_TYPES[fmt]
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data)
    # A different representation, so its own strong validator; either one revalidates.
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gzip"'
    for etag in (plain.headers["ETag"], zipped.headers["ETag"]):
        again = client.get(_url(fmt), headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert (again.status_code, again.headers["ETag"]) == (304, zipped.headers["ETag"])


def test_export_route_refuses_gzip_with_q_zero(client, db):
    load_schedule()

    response = client.get(_url("json"), headers={"Accept-Encoding": "gzip;q=0, identity"})

    assert "Content-Encoding" not in response.headers
    assert json.loads(response.data)["schedule"]["version"] == "1"


def test_export_route_etag_changes_after_a_reimport(client, db):
    load_schedule()
    first = client.get(_url("ics"))
    changed = small_schedule()
    changed.sessions[0].title = "Opening Keynote (moved)"
    changed.sessions[0].start += timedelta(minutes=15)
    changed.sessions[0].end += timedelta(minutes=15)
    load_schedule(changed, now=DAY_ONE + timedelta(hours=1))

    second = client.get(_url("ics"), headers={"If-None-Match": first.headers["ETag"]})

    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    titles = [str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(second.data).walk("VEVENT")]
    assert "Opening Keynote (moved)" in titles and "Opening Keynote" not in titles


@pytest.mark.parametrize("fmt", ["json", "xml", "ics"])
def test_export_route_head_has_headers_and_no_body(client, db, fmt):
    load_schedule()
    get = client.get(_url(fmt))

    head = client.head(_url(fmt))

    assert head.status_code == 200
    assert head.data == b""
    assert head.content_type == CONTENT_TYPES[fmt]
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(get.data))


def test_export_route_before_any_import_is_a_404_problem(client, db):
    response = client.get(_url("json"), headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json() == {
        "type": "about:blank", "title": "No schedule", "status": 404,
        "detail": "No schedule has been imported yet: staff import one with `companion schedule import FILE`.",
    }
    page = client.get(_url("ics"), headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "No schedule has been imported yet" in page.get_data(as_text=True)


def test_export_route_unknown_format_is_404(client, db):
    load_schedule()

    response = client.get("/schedule/export/schedule.csv", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
