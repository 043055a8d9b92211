"""Errors: every failure is a page or a problem document that says what happened, never a stack trace."""

from __future__ import annotations

import pytest


@pytest.fixture
def broken_views(app):
    """Make a page and an API endpoint raise, as a bug would, and put them back afterwards."""
    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    saved = {name: app.view_functions[name] for name in ("api.health", "schedule.index")}
    app.view_functions.update({name: boom for name in saved})
    yield
    app.view_functions.update(saved)


def test_unexpected_error_on_the_api_is_a_500_problem(client, broken_views):
    response = client.get("/api/v1/health")

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "about:blank", "title": "Internal Server Error", "status": 500,
        "detail": "Something went wrong on our side. Nothing was changed; please try again, "
                  "and tell the organisers if it keeps happening.",
    }


def test_unexpected_error_on_a_page_is_a_500_page(client, broken_views):
    response = client.get("/schedule")
    html = response.get_data(as_text=True)

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "<h1>Internal Server Error</h1>" in html
    assert "a bug" not in html and "Traceback" not in html


@pytest.mark.parametrize("url", [
    "/sessions/%00", "/speakers/%00", "/rooms/%00", "/api/v1/sessions/%00", "/api/v1/speakers/%00",
    "/api/v1/sessions?q=%00", "/api/v1/sessions?room=a%00b", "/schedule?q=%00",
])
def test_nul_characters_are_a_400_on_both_databases(client, db, url):
    response = client.get(url, headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The request contains a NUL character")


def test_api_day_at_the_edges_of_the_calendar(client, db):
    from tests.factories import load_schedule

    load_schedule()
    first = client.get("/api/v1/sessions?day=0001-01-01")
    last = client.get("/api/v1/sessions?day=9999-12-31")

    assert (first.status_code, first.get_json()) == (200, {"sessions": []})
    assert last.status_code == 400
    body = last.get_json()
    assert [e["loc"] for e in body["errors"]] == ["day"]
    assert body["detail"] == "day: 9999-12-31 is out of range; give a conference day such as 2026-04-07."


def test_nul_characters_inside_json_bodies_are_a_400(client, db):
    from tests.accounts.factories import csrf_from, make_attendee, sign_in

    user = make_attendee().user
    sign_in(client, user)
    token = csrf_from(client.get("/me").get_data(as_text=True))

    response = client.post("/api/v1/agenda/merge", json={"codes": ["a\u0000"]}, headers={"X-CSRFToken": token})

    assert response.status_code == 400
    assert response.get_json()["detail"].startswith("The request contains a NUL character")


def test_unknown_session_code_is_worded_for_who_asked(client, db):
    from tests.factories import load_schedule

    load_schedule()
    page = client.get("/sessions/NOPE42")
    api = client.get("/api/v1/sessions/NOPE42")
    ics = client.get("/sessions/NOPE42.ics")

    assert page.status_code == api.status_code == ics.status_code == 404
    assert "There is no session with code &#39;NOPE42&#39;. Find it on the schedule." in page.get_data(as_text=True)
    assert api.get_json()["detail"] == "There is no session with code 'NOPE42'. Codes are case-sensitive; see GET /api/v1/schedule."
