"""The agenda JSON API: star and unstar (idempotent), my stars, merging a phone's stars, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from companion.agenda.models import Favourite
from companion.schedule.models import Session
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.factories import load_schedule, small_schedule

PROBLEM = "application/problem+json"
STARRED_AT = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)  # the clock fixture's moment


@pytest.fixture
def me(db, client):
    """A signed-in attendee on ``client``, the schedule loaded; ``me.csrf`` for the header."""
    load_schedule()
    user = make_attendee(email="ada@example.org", name="Ada Lovelace").user
    sign_in(client, user)
    user.csrf = csrf_from(client.get("/agenda").get_data(as_text=True))
    return user


def _codes(db) -> dict[str, str]:
    return {s.source_key: s.code for s in db.scalars(select(Session))}


def _starred(db, user) -> list[str]:
    return list(db.scalars(select(Session.source_key).join(Favourite).where(Favourite.user_id == user.id)
                           .order_by(Session.starts_at)))


def _count(db) -> int:
    return db.scalar(select(func.count()).select_from(Favourite))


def test_put_twice_is_one_star(client, db, me):
    code = _codes(db)["s-keynote"]
    headers = {"X-CSRFToken": me.csrf}

    first = client.put(f"/api/v1/agenda/{code}", headers=headers)
    second = client.put(f"/api/v1/agenda/{code}", headers=headers)

    assert (first.status_code, first.get_json()) == (200, {"code": code, "starred": True, "added": True})
    assert (second.status_code, second.get_json()) == (200, {"code": code, "starred": True, "added": False})
    assert _starred(db, me) == ["s-keynote"] and _count(db) == 1
    assert db.scalar(select(Favourite.created_at)) == STARRED_AT


def test_delete_twice_leaves_no_star(client, db, me):
    code = _codes(db)["s-keynote"]
    headers = {"X-CSRFToken": me.csrf}
    client.put(f"/api/v1/agenda/{code}", headers=headers)

    first = client.delete(f"/api/v1/agenda/{code}", headers=headers)
    second = client.delete(f"/api/v1/agenda/{code}", headers=headers)

    assert (first.status_code, first.get_json()) == (200, {"code": code, "starred": False, "removed": True})
    assert (second.status_code, second.get_json()) == (200, {"code": code, "starred": False, "removed": False})
    assert _count(db) == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_unknown_session_code_is_a_404_problem(client, db, me, method):
    response = client.open("/api/v1/agenda/NOPE42", method=method, headers={"X-CSRFToken": me.csrf})

    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.get_json() == {
        "type": "about:blank", "title": "Session not found", "status": 404,
        "detail": "There is no session with code 'NOPE42'. Codes are case-sensitive; see GET /api/v1/schedule."}
    assert _count(db) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/agenda"), ("PUT", "/api/v1/agenda/{code}"), ("DELETE", "/api/v1/agenda/{code}"),
    ("POST", "/api/v1/agenda/merge"), ("GET", "/api/v1/agenda/changes?since=2026-04-07T09:00:00Z"),
])
def test_signed_out_is_a_401_problem(client, db, method, path):
    load_schedule()
    code = _codes(db)["s-keynote"]
    csrf = csrf_from(client.get("/sign-in").get_data(as_text=True))

    response = client.open(path.format(code=code), method=method, headers={"X-CSRFToken": csrf},
                           json={"codes": [code]} if method == "POST" else None)

    assert (response.status_code, response.mimetype) == (401, PROBLEM)
    assert response.get_json()["detail"] == "Sign in first: this needs an account."
    assert _count(db) == 0


def test_star_without_csrf_header_is_refused(client, db, me):
    code = _codes(db)["s-keynote"]

    response = client.put(f"/api/v1/agenda/{code}")
    merge = client.post("/api/v1/agenda/merge", json={"codes": [code]})

    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert response.get_json()["detail"] == "The CSRF token is missing."
    assert merge.status_code == 400
    assert _count(db) == 0


def test_my_agenda_lists_codes_and_sessions_by_start(client, db, me):
    codes = _codes(db)
    for key in ("s-workshop", "s-keynote"):
        client.put(f"/api/v1/agenda/{codes[key]}", headers={"X-CSRFToken": me.csrf})

    response = client.get("/api/v1/agenda")

    body = response.get_json()
    assert response.status_code == 200
    assert body["codes"] == [codes["s-keynote"], codes["s-workshop"]]
    assert body["sessions"] == [client.get(f"/api/v1/sessions/{codes[k]}").get_json() for k in ("s-keynote", "s-workshop")]
    assert body["sessions"][0]["start"] == "2026-04-07T09:00:00+02:00"


def test_merge_adds_the_phones_stars_and_ignores_unknown_codes(client, db, me):
    codes = _codes(db)
    client.put(f"/api/v1/agenda/{codes['s-keynote']}", headers={"X-CSRFToken": me.csrf})

    response = client.post("/api/v1/agenda/merge", headers={"X-CSRFToken": me.csrf},
                           json={"codes": [codes["s-keynote"], codes["s-serving"], codes["s-break"], "NOPE42"]})
    again = client.post("/api/v1/agenda/merge", headers={"X-CSRFToken": me.csrf}, json={"codes": [codes["s-break"]]})

    assert (response.status_code, response.get_json()) == (200, {"added": 2})
    assert again.get_json() == {"added": 0}
    assert _starred(db, me) == ["s-keynote", "s-serving", "s-break"]


@pytest.mark.parametrize("body", [{"codes": "ABC"}, {"codes": [1, 2]}, {}, {"codes": [], "extra": 1},
                                  {"codes": ["A"] * 501}])
def test_merge_refuses_malformed_bodies(client, db, me, body):
    response = client.post("/api/v1/agenda/merge", headers={"X-CSRFToken": me.csrf}, json=body)

    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert _count(db) == 0


def _moved(minutes: int) -> object:
    parsed = small_schedule()
    keynote = next(s for s in parsed.sessions if s.key == "s-keynote")
    keynote.start += timedelta(minutes=minutes)
    keynote.end += timedelta(minutes=minutes)
    return parsed


def test_changes_since_lists_my_starred_sessions_changes_after_since_and_after_the_star(client, db, me, clock):
    codes = _codes(db)
    headers = {"X-CSRFToken": me.csrf}
    load_schedule(_moved(10), now=datetime(2026, 4, 7, 8, 0, tzinfo=UTC))  # before the star: not mine to hear about
    client.put(f"/api/v1/agenda/{codes['s-keynote']}", headers=headers)  # starred at 09:00 UTC
    first = _moved(30)
    load_schedule(first, now=datetime(2026, 4, 7, 9, 30, tzinfo=UTC))
    second = _moved(30)
    next(s for s in second.sessions if s.key == "s-keynote").room = "Junior Stage"
    next(s for s in second.sessions if s.key == "s-serving").title = "Not starred, not listed"
    load_schedule(second, now=datetime(2026, 4, 7, 10, 0, tzinfo=UTC))

    everything = client.get("/api/v1/agenda/changes?since=2026-04-07T08:00:00Z")
    later = client.get("/api/v1/agenda/changes", query_string={"since": "2026-04-07T11:30:00+02:00"})

    keynote = {"session": codes["s-keynote"], "title": "Opening Keynote"}
    moved = {**keynote, "kind": "time", "old": "2026-04-07T07:10:00+00:00/2026-04-07T07:40:00+00:00",
             "new": "2026-04-07T07:30:00+00:00/2026-04-07T08:00:00+00:00", "changed_at": "2026-04-07T09:30:00Z"}
    room = {**keynote, "kind": "room", "old": "Master Stage", "new": "Junior Stage", "changed_at": "2026-04-07T10:00:00Z"}
    assert (everything.status_code, everything.get_json()) == (200, {"changes": [moved, room]})
    assert later.get_json() == {"changes": [room]}


def test_changes_since_accepts_a_plus_sent_unencoded(client, db, me):
    response = client.get("/api/v1/agenda/changes?since=2026-04-07T11:30:00+02:00")

    assert (response.status_code, response.get_json()) == (200, {"changes": []})


@pytest.mark.parametrize("query", ["", "?since=", "?since=yesterday", "?since=2026-04-07T09:00:00",
                                   "?since=2026-04-07T09:00:00Z&extra=1"])
def test_changes_without_a_valid_since_is_a_400_naming_it(client, db, me, query):
    response = client.get(f"/api/v1/agenda/changes{query}")

    body = response.get_json()
    assert (response.status_code, response.mimetype) == (400, PROBLEM)
    assert body["errors"][0]["loc"] == ("extra" if "extra" in query else "since")


def test_the_openapi_document_describes_the_agenda_api(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert sorted(p for p in paths if p.startswith("/api/v1/agenda")) == [
        "/api/v1/agenda", "/api/v1/agenda/changes", "/api/v1/agenda/merge", "/api/v1/agenda/{code}"]
    assert sorted(paths["/api/v1/agenda/{code}"]) == ["delete", "put"]
    assert "since" in [p["name"] for p in paths["/api/v1/agenda/changes"]["get"]["parameters"]]
