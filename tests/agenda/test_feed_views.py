"""The calendar routes: the private feed over HTTP (caching, 304, HEAD, tokens), one-session files, the Calendar page."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote

import icalendar
import pytest
from sqlalchemy import event, select

from companion.agenda import services
from companion.agenda.feeds import feed_cache
from companion.agenda.models import CalendarFeed
from companion.extensions import db as _db
from companion.schedule.exporters.ical import session_uid
from companion.schedule.models import Session
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.agenda.test_feeds import expected_events, icalendar_events, second_parser_events
from tests.factories import DAY_ONE, load_schedule, small_schedule

PUBLIC_URL = "https://conf.example.org"


@pytest.fixture(autouse=True)
def _fresh_feed_cache() -> Iterator[None]:
    feed_cache.clear()
    yield
    feed_cache.clear()


@pytest.fixture
def public_url(app):
    """Run the test as production does: with PUBLIC_URL set."""
    app.config["PUBLIC_URL"] = PUBLIC_URL
    yield PUBLIC_URL
    app.config["PUBLIC_URL"] = None


@pytest.fixture
def feed_limit(app):
    """A small feed rate limit for the test."""
    app.config["FEED_RATE_LIMIT"] = "3 per minute"
    yield
    app.config.pop("FEED_RATE_LIMIT")


def _session(db, key: str) -> Session:
    return db.scalars(select(Session).where(Session.source_key == key)).one()


def _person_with_stars(db, clock, *keys: str, alarm: int | None = None):
    """An attendee who starred ``keys``, with a calendar feed; returns (user, feed URL path)."""
    user = make_attendee().user
    for key in keys:
        services.star(user, _session(db, key), now=clock.moment)
    feed = services.calendar_feed(user, now=clock.moment)
    if alarm is not None:
        services.set_alarm(user, alarm, now=clock.moment)
    db.commit()
    return user, f"/ical/{feed.token}.ics"


@contextlib.contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)


def test_feed_is_the_persons_stars_with_caching_headers(client, db, clock, public_url):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-keynote", "s-workshop")

    response = client.get(url)

    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Last-Modified"] == "Tue, 07 Apr 2026 09:00:00 GMT"  # the clock: stars, render
    starred = [_session(db, "s-keynote"), _session(db, "s-workshop")]
    assert icalendar_events(response.data) == second_parser_events(response.data) == expected_events(starred)
    calendar = icalendar.Calendar.from_ical(response.data)
    assert str(calendar["X-WR-CALNAME"]) == "Test Conf 2026 — my agenda"
    assert {str(e["URL"]) for e in calendar.walk("VEVENT")} == {f"{PUBLIC_URL}/sessions/{s.code}" for s in starred}


def test_feed_uids_and_sequences_equal_the_full_exports(client, db, clock, public_url):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-serving", "s-break")

    feed = icalendar_events(client.get(url).data)
    export = icalendar_events(client.get("/schedule/export/schedule.ics").data)

    assert feed == {uid: export[uid] for uid in feed}
    assert set(feed) == {session_uid(_session(db, "s-serving")), session_uid(_session(db, "s-break"))}


def test_304_on_if_none_match_and_on_if_modified_since(client, db, clock):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-keynote")
    first = client.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]

    by_etag = client.get(url, headers={"If-None-Match": etag})
    by_date = client.get(url, headers={"If-Modified-Since": last_modified})
    earlier = client.get(url, headers={"If-Modified-Since": "Tue, 07 Apr 2026 08:59:59 GMT"})
    other_etag = client.get(url, headers={"If-None-Match": '"something-else"', "If-Modified-Since": last_modified})

    assert (by_etag.status_code, by_etag.data, by_etag.headers["ETag"]) == (304, b"", etag)
    assert (by_date.status_code, by_date.data) == (304, b"")
    assert (earlier.status_code, earlier.data) == (200, first.data)
    assert other_etag.status_code == 200  # If-None-Match decides when both are sent
    gzipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert client.get(url, headers={"If-None-Match": gzipped.headers["ETag"]}).status_code == 304


def test_head_has_the_headers_of_get_and_no_body(client, db, clock):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-keynote")

    got, head = client.get(url), client.head(url)

    assert head.status_code == 200 and head.data == b""
    # The date may move on by a second between the two requests; the rate limit counts both.
    moving = ("Date", "X-RateLimit-Reset", "X-RateLimit-Remaining")
    steady = lambda r: sorted((k, v) for k, v in r.headers.items() if k not in moving)  # noqa: E731
    assert steady(head) == steady(got)
    assert int(head.headers["Content-Length"]) == len(got.data)


def test_reimport_moves_the_session_with_a_higher_sequence_and_a_new_etag(client, db, clock):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-serving", "s-break")
    before = client.get(url)
    uid = session_uid(_session(db, "s-serving"))
    moved = small_schedule()
    serving = next(s for s in moved.sessions if s.key == "s-serving")
    serving.start, serving.end = serving.start + timedelta(hours=2), serving.end + timedelta(hours=2)
    moved.sessions = [s for s in moved.sessions if s.key != "s-break"]  # gone from the source: cancelled
    load_schedule(moved, now=DAY_ONE + timedelta(hours=3))
    db.expire_all()

    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})

    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.headers["Last-Modified"] == "Tue, 07 Apr 2026 10:00:00 GMT"  # the re-import's time
    old, new = icalendar_events(before.data), second_parser_events(after.data)
    assert new == icalendar_events(after.data) == expected_events([_session(db, "s-serving"), _session(db, "s-break")])
    assert (old[uid][0] + timedelta(hours=2), old[uid][2] + 1) == (new[uid][0], new[uid][2])
    assert new[session_uid(_session(db, "s-break"))][3] == "CANCELLED"


def test_starring_and_unstarring_change_the_feed(client, db, clock):
    load_schedule()
    user, url = _person_with_stars(db, clock, "s-keynote")
    first = client.get(url)
    clock.set(clock.moment + timedelta(minutes=5))
    services.star(user, _session(db, "s-workshop"), now=clock.moment)
    db.commit()

    second = client.get(url)
    clock.set(clock.moment + timedelta(minutes=5))
    services.unstar(user, _session(db, "s-keynote"))
    db.commit()
    third = client.get(url, headers={"If-Modified-Since": second.headers["Last-Modified"]})

    assert third.status_code == 200  # a removed star leaves no time behind: the feed is stamped when rendered
    assert len({first.headers["ETag"], second.headers["ETag"], third.headers["ETag"]}) == 3
    assert [r.headers["Last-Modified"][17:22] for r in (first, second, third)] == ["09:00", "09:05", "09:10"]
    assert set(icalendar_events(second.data)) == {session_uid(_session(db, k)) for k in ("s-keynote", "s-workshop")}
    assert set(icalendar_events(third.data)) == {session_uid(_session(db, "s-workshop"))}


def test_alarm_in_the_feed_when_set(client, db, clock):
    load_schedule()
    _, with_alarm = _person_with_stars(db, clock, "s-keynote", alarm=10)
    _, without = _person_with_stars(db, clock, "s-keynote")

    alarms = icalendar.Calendar.from_ical(client.get(with_alarm).data).walk("VALARM")

    assert [(str(a["ACTION"]), a["TRIGGER"].to_ical(), str(a["DESCRIPTION"])) for a in alarms] == [
        ("DISPLAY", b"-PT10M", "Opening Keynote in Master Stage")]
    assert b"VALARM" not in client.get(without).data


def test_another_persons_feed_never_has_my_stars(client, db, clock):
    load_schedule()
    _, mine = _person_with_stars(db, clock, "s-keynote", "s-serving")
    _, theirs = _person_with_stars(db, clock, "s-workshop")
    _, nobody = _person_with_stars(db, clock)

    assert set(icalendar_events(client.get(mine).data)) == {session_uid(_session(db, k)) for k in ("s-keynote", "s-serving")}
    assert set(icalendar_events(client.get(theirs).data)) == {session_uid(_session(db, "s-workshop"))}
    assert icalendar_events(client.get(nobody).data) == {}


def test_new_address_makes_the_old_url_404_like_a_made_up_one(client, db, clock):
    load_schedule()
    user, old_url = _person_with_stars(db, clock, "s-keynote")
    assert client.get(old_url).status_code == 200
    new_token = services.regenerate_feed(user, now=clock.moment).token
    db.commit()

    old = client.get(old_url)
    made_up = client.get("/ical/" + "A" * 43 + ".ics")

    assert (old.status_code, made_up.status_code) == (404, 404)
    assert old.data == made_up.data and old.content_type == made_up.content_type
    assert "calendar" in old.get_data(as_text=True).lower()
    assert client.get(f"/ical/{new_token}.ics").status_code == 200


def test_queries_a_poll_costs(client, db, clock):
    load_schedule()
    _, url = _person_with_stars(db, clock, *(s.key for s in small_schedule().sessions))
    client.get(url)  # renders and caches
    client.get(url)  # keeps the token's lookup (the first may hear the announcements of the stars)

    with counted_queries() as cached:
        assert client.get(url).status_code == 200
    with counted_queries() as too_long:
        assert client.get("/ical/" + "a" * 65 + ".ics").status_code == 404
    with counted_queries() as odd:
        assert client.get("/ical/not%20a%20token.ics").status_code == 404

    # The schedule version (kept 1 s in production); the token's lookup is kept until the database
    # announces a change to that person's feed (companion.agenda.feed_owners).
    assert [("schedule_version" in q, "calendar_feed" in q) for q in cached] == [(True, False)], cached
    # No token lookup for what cannot be a token (the HTML error page reads the site's title).
    assert [q for q in too_long + odd if "calendar_feed" in q or "favourite" in q] == []
    with counted_queries() as as_json:
        assert client.get("/ical/" + "a" * 65 + ".ics", headers={"Accept": "application/json"}).status_code == 404
    assert as_json == []


def test_feed_rate_limits(client, db, clock, feed_limit):
    load_schedule()
    _, url = _person_with_stars(db, clock, "s-keynote")
    _, other = _person_with_stars(db, clock, "s-workshop")

    mine = [client.get(url).status_code for _ in range(4)]
    theirs = client.get(other).status_code
    guesses = [client.get(f"/ical/{'G' * 42}{n}.ics").status_code for n in range(4)]

    assert (mine, theirs) == ([200, 200, 200, 429], 200)  # per address and feed
    assert guesses == [404, 404, 404, 429]  # misses count apart from good polls
    assert client.get(other).status_code == 200  # and only misses are refused
    assert client.get("/ical/" + "a" * 65 + ".ics").status_code == 429  # what cannot be a token is a miss too


# --- One session -------------------------------------------------------------------------------


def test_one_session_file_has_the_exports_uid(client, db, public_url):
    load_schedule()
    serving = _session(db, "s-serving")

    response = client.get(f"/sessions/{serving.code}.ics")

    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f"attachment; filename={serving.code}.ics"
    assert icalendar_events(response.data) == second_parser_events(response.data) == expected_events([serving])
    export = icalendar_events(client.get("/schedule/export/schedule.ics").data)
    assert export[session_uid(serving)] == icalendar_events(response.data)[session_uid(serving)]
    calendar = icalendar.Calendar.from_ical(response.data)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert client.get(f"/sessions/{serving.code}.ics", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get(f"/sessions/{serving.code}").status_code == 200  # the page is still the page


def test_unknown_session_file_is_a_404_problem(client, db):
    load_schedule()

    response = client.get("/sessions/NOPE99.ics", headers={"Accept": "application/json"})

    assert (response.status_code, response.mimetype) == (404, "application/problem+json")
    assert response.get_json()["title"] == "Session not found"


# --- The Calendar page ---------------------------------------------------------------------------


def _page(client, user) -> str:
    sign_in(client, user)
    response = client.get("/agenda/calendar")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def test_calendar_page_shows_the_three_links(client, db, public_url):
    user = make_attendee().user

    html = _page(client, user)

    token = db.scalars(select(CalendarFeed.token).where(CalendarFeed.user_id == user.id)).one()
    webcal = f"webcal://conf.example.org/ical/{token}.ics"
    assert f'href="{webcal}"' in html
    assert f'value="{PUBLIC_URL}/ical/{token}.ics"' in html
    assert f'href="https://calendar.google.com/calendar/r?cid={quote(webcal, safe="")}"' in html
    assert "webcal%3A%2F%2Fconf.example.org%2Fical%2F" in html
    assert "refresh subscriptions only every few hours" in html
    # The same address on every visit (the pages differ only in their time-stamped CSRF tokens).
    again = _page(client, user)
    assert again.count(f"/ical/{token}.ics") == html.count(f"/ical/{token}.ics") == 2
    assert db.scalars(select(CalendarFeed.token)).all() == [token]


def test_alarm_form_sets_the_reminder(client, db, clock):
    user = make_attendee().user
    html = _page(client, user)
    assert '<option selected value="">No reminder</option>' in html

    saved = client.post("/agenda/calendar/alarm", data={"csrf_token": csrf_from(html), "minutes": "15"})
    page = client.get("/agenda/calendar").get_data(as_text=True)
    refused = client.post("/agenda/calendar/alarm", data={"csrf_token": csrf_from(html), "minutes": "7"})

    assert (saved.status_code, saved.headers["Location"]) == (303, "/agenda/calendar")
    assert '<option selected value="15">15 minutes before</option>' in page
    assert "Reminders set: 15 minutes before each session." in page
    assert "Currently: 15 minutes before each session." in page
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
    assert db.scalars(select(CalendarFeed.alarm_minutes)).one() == 15
    client.post("/agenda/calendar/alarm", data={"csrf_token": csrf_from(html), "minutes": ""})
    assert db.scalars(select(CalendarFeed.alarm_minutes)).one() is None


def test_get_a_new_address(client, db, clock, public_url):
    load_schedule()
    user = make_attendee().user
    html = _page(client, user)
    old_token = db.scalars(select(CalendarFeed.token)).one()
    assert client.get(f"/ical/{old_token}.ics").status_code == 200

    response = client.post("/agenda/calendar/new-address", data={"csrf_token": csrf_from(html)})

    new_token = db.scalars(select(CalendarFeed.token)).one()
    assert response.status_code == 303 and new_token != old_token
    page = client.get("/agenda/calendar").get_data(as_text=True)
    assert f"{PUBLIC_URL}/ical/{new_token}.ics" in page and old_token not in page
    assert "The old one has stopped working" in page
    assert client.get(f"/ical/{old_token}.ics").status_code == 404
    assert client.get(f"/ical/{new_token}.ics").status_code == 200
