"""The voting JSON API: the posters, my votes, casting and moving a vote (one ballot), refusals as
problem+json, input validation, access and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from companion.voting.models import Ballot, VoteCategory
from tests.conftest import TEST_USER_AGENT
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.voting.factories import CLOSES, OPENS, make_poster, open_voting

PROBLEM = "application/problem+json"
DURING = OPENS + timedelta(minutes=30)


def _ballots(db) -> list[tuple]:
    """(user id, category code, poster id, counted, cast at, updated at, changes) by id."""
    db.expire_all()
    return [(b.user_id, db.get(VoteCategory, b.category_id).code, b.poster_id, b.counted, b.cast_at, b.updated_at,
             b.changes) for b in db.scalars(select(Ballot).order_by(Ballot.id))]


def _put(client, category: str, body: object, csrf: str | None):
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.put(f"/api/v1/votes/{category}", json=body, headers=headers)


@pytest.fixture
def ada(db, client, conference, clock):
    """A signed-in attendee on ``client``, voting open now; ``ada.csrf`` for the header."""
    user = make_attendee(email="ada@example.org", name="Ada Lovelace").user
    sign_in(client, user)
    user.csrf = csrf_from(client.get("/posters").get_data(as_text=True))
    clock.set(DURING)
    return user


@pytest.fixture
def posters(db, conference):
    """P1 in both categories, P2 in Best poster, P10 in People's choice; voting set 18:00-19:00 Paris."""
    made = {"P10": make_poster("P10", "Graph compilers", categories=("People's choice",), authors="Alan Turing"),
            "P2": make_poster("P2", "Smaller models", authors="Grace Hopper"),
            "P1": make_poster("P1", "Faster kernels", categories=("Best poster", "People's choice"))}
    open_voting()
    return made


# --- GET /api/v1/posters --------------------------------------------------------------------------


def test_posters_lists_every_poster_by_board_for_anyone(client, db, posters):
    response = client.get("/api/v1/posters")

    assert (response.status_code, response.mimetype) == (200, "application/json")
    assert response.get_json() == {"posters": [
        # Categories by position: People's choice came first (with P10).
        {"code": posters["P1"].code, "board": "P1", "title": "Faster kernels",
         "authors": "Ada Lovelace, Grace Hopper", "categories": ["people-s-choice", "best-poster"]},
        {"code": posters["P2"].code, "board": "P2", "title": "Smaller models", "authors": "Grace Hopper",
         "categories": ["best-poster"]},
        {"code": posters["P10"].code, "board": "P10", "title": "Graph compilers", "authors": "Alan Turing",
         "categories": ["people-s-choice"]},
    ]}


def test_posters_without_posters_is_an_empty_list(client, db):
    response = client.get("/api/v1/posters")

    assert (response.status_code, response.get_json()) == (200, {"posters": []})


# --- GET /api/v1/votes ----------------------------------------------------------------------------


def test_my_votes_signed_out_is_a_401_problem(client, db, posters):
    response = client.get("/api/v1/votes")

    assert (response.status_code, response.mimetype, response.get_json()) == (401, PROBLEM, {
        "type": "about:blank", "title": "Unauthorized", "status": 401,
        "detail": "Sign in first: this needs an account."})


def test_my_votes_lists_my_vote_per_category_and_whether_voting_is_open(client, db, posters, ada, clock):
    before = client.get("/api/v1/votes")
    _put(client, "best-poster", {"poster": posters["P2"].code}, ada.csrf)
    _put(client, "people-s-choice", {"poster": posters["P10"].code}, ada.csrf)
    grace = make_attendee(email="grace@example.org").user
    other = client.application.test_client()
    other.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    sign_in(other, grace)
    other_csrf = csrf_from(other.get("/posters").get_data(as_text=True))
    _put(other, "best-poster", {"poster": posters["P1"].code}, other_csrf)

    during = client.get("/api/v1/votes")
    clock.set(CLOSES)
    after = client.get("/api/v1/votes")

    assert (before.status_code, before.get_json()) == (200, {"open": True, "votes": {}})
    assert (during.status_code, during.get_json()) == (200, {"open": True, "votes": {
        "best-poster": posters["P2"].code, "people-s-choice": posters["P10"].code}})
    assert (after.status_code, after.get_json()) == (200, {"open": False, "votes": {
        "best-poster": posters["P2"].code, "people-s-choice": posters["P10"].code}})


def test_my_votes_before_any_window_is_closed_and_empty(client, db, conference):
    sign_in(client, make_attendee().user)

    assert client.get("/api/v1/votes").get_json() == {"open": False, "votes": {}}


# --- PUT /api/v1/votes/<category> -----------------------------------------------------------------


def test_vote_is_200_then_moving_it_is_200_on_the_same_ballot(client, db, posters, ada, clock):
    p1, p2 = posters["P1"], posters["P2"]

    first = _put(client, "best-poster", {"poster": p1.code}, ada.csrf)
    clock.set(DURING + timedelta(minutes=3))
    moved = _put(client, "best-poster", {"poster": p2.code.lower()}, ada.csrf)

    assert (first.status_code, first.mimetype, first.get_json()) == (200, "application/json", {
        "category": "best-poster", "poster": p1.code, "board": "P1", "title": "Faster kernels", "counted": True,
        "message": "Your vote for Best poster: P1, Faster kernels."})
    assert (moved.status_code, moved.get_json()) == (200, {
        "category": "best-poster", "poster": p2.code, "board": "P2", "title": "Smaller models", "counted": True,
        "message": "Your vote for Best poster: P2, Smaller models."})
    assert _ballots(db) == [(ada.id, "best-poster", p2.id, True, DURING, DURING + timedelta(minutes=3), 1)]


def test_vote_again_for_the_same_poster_is_200_and_no_change(client, db, posters, ada):
    p1 = posters["P1"]

    answers = [_put(client, "best-poster", {"poster": p1.code}, ada.csrf) for _ in range(2)]

    assert [r.status_code for r in answers] == [200, 200]
    assert answers[0].get_json() == answers[1].get_json()
    assert [row[:4] + row[6:] for row in _ballots(db)] == [(ada.id, "best-poster", p1.id, True, 0)]


def test_vote_by_staff_is_200_not_counted(client, db, posters, clock):
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    sign_in(client, staff)
    csrf = csrf_from(client.get("/posters").get_data(as_text=True))
    clock.set(DURING)

    response = _put(client, "best-poster", {"poster": posters["P1"].code}, csrf)

    assert (response.status_code, response.get_json()) == (200, {
        "category": "best-poster", "poster": posters["P1"].code, "board": "P1", "title": "Faster kernels",
        "counted": False, "message": "Your vote for Best poster: P1, Faster kernels. Staff votes are kept for "
                                     "trying the page but not counted."})
    assert _ballots(db) == [(staff.id, "best-poster", posters["P1"].id, False, DURING, DURING, 0)]


def test_vote_in_an_unknown_category_is_a_404_problem(client, db, posters, ada):
    response = _put(client, "jury-prize", {"poster": posters["P1"].code}, ada.csrf)

    assert (response.status_code, response.mimetype, response.get_json()) == (404, PROBLEM, {
        "type": "about:blank", "title": "Not Found", "status": 404,
        "detail": "There is no voting category jury-prize.", "errors": [{"loc": "category", "msg": "unknown"}]})
    assert _ballots(db) == []


def test_vote_for_an_unknown_poster_is_a_404_problem(client, db, posters, ada):
    response = _put(client, "best-poster", {"poster": "NOPE42"}, ada.csrf)

    assert (response.status_code, response.mimetype, response.get_json()) == (404, PROBLEM, {
        "type": "about:blank", "title": "Not Found", "status": 404,
        "detail": "There is no poster NOPE42: check the code on the board.",
        "errors": [{"loc": "poster", "msg": "unknown"}]})
    assert _ballots(db) == []


def _refused(reason: str, message: str, loc: str = "poster") -> dict:
    return {"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": message,
            "errors": [{"loc": loc, "msg": message, "reason": reason}]}


def test_vote_after_the_close_is_a_422_closed_and_the_earlier_vote_stands(client, db, posters, ada, clock):
    _put(client, "best-poster", {"poster": posters["P1"].code}, ada.csrf)
    clock.set(CLOSES)

    response = _put(client, "best-poster", {"poster": posters["P2"].code}, ada.csrf)

    assert (response.status_code, response.mimetype, response.get_json()) == (422, PROBLEM, _refused(
        "closed", "Voting closed at 19:00. Your earlier vote, if any, stands."))
    assert _ballots(db) == [(ada.id, "best-poster", posters["P1"].id, True, DURING, DURING, 0)]


def test_vote_before_the_opening_is_a_422_not_open(client, db, posters, ada, clock):
    clock.set(OPENS - timedelta(minutes=1))

    response = _put(client, "best-poster", {"poster": posters["P1"].code}, ada.csrf)

    assert (response.status_code, response.get_json()) == (422, _refused(
        "not_open", "Voting has not opened yet at 18:00 on 7 April."))
    assert _ballots(db) == []


def test_vote_for_a_poster_not_in_the_category_is_a_422(client, db, posters, ada):
    response = _put(client, "people-s-choice", {"poster": posters["P2"].code}, ada.csrf)

    assert (response.status_code, response.get_json()) == (422, _refused(
        "category", "Smaller models is not in People's choice.", loc="category"))
    assert _ballots(db) == []


def test_vote_by_an_account_without_attendee_profile_is_a_422_not_allowed(client, db, posters, clock):
    sign_in(client, make_user(email="visitor@example.org"))
    csrf = csrf_from(client.get("/posters").get_data(as_text=True))
    clock.set(DURING)

    response = _put(client, "best-poster", {"poster": posters["P1"].code}, csrf)

    assert (response.status_code, response.get_json()) == (422, _refused("not_allowed", "Only attendees can vote."))
    assert _ballots(db) == []


def test_vote_checked_in_only_is_a_422_for_an_attendee_not_checked_in(client, db, posters, ada):
    open_voting(voters="checked_in")

    response = _put(client, "best-poster", {"poster": posters["P1"].code}, ada.csrf)

    assert (response.status_code, response.get_json()) == (422, _refused(
        "not_checked_in", "Only checked-in attendees can vote: show your badge at the door first."))
    assert _ballots(db) == []


def _invalid(loc: str, msg: str) -> dict:
    return {"type": "about:blank", "title": "Bad Request", "status": 400,
            "detail": f"The request's parameters are not valid ({loc}: {msg}).", "errors": [{"loc": loc, "msg": msg}]}


@pytest.mark.parametrize(("body", "loc", "msg"), [
    ({"poster": "{code}", "extra": 1}, "extra", "Extra inputs are not permitted"),
    ({}, "poster", "Field required"),
    (None, "poster", "Field required"),
    ({"poster": ""}, "poster", "String should have at least 1 character"),
    ({"poster": 12}, "poster", "Input should be a valid string"),
    ({"poster": "X" * 33}, "poster", "String should have at most 32 characters"),
])
def test_vote_with_a_malformed_body_is_a_400_naming_the_field(client, db, posters, ada, body, loc, msg):
    if body and body.get("poster") == "{code}":
        body = {**body, "poster": posters["P1"].code}

    response = _put(client, "best-poster", body, ada.csrf)

    assert (response.status_code, response.mimetype, response.get_json()) == (400, PROBLEM, _invalid(loc, msg))
    assert _ballots(db) == []


def test_vote_without_the_csrf_header_is_refused_and_writes_nothing(client, db, posters, ada):
    missing = _put(client, "best-poster", {"poster": posters["P1"].code}, None)
    wrong = _put(client, "best-poster", {"poster": posters["P1"].code}, "not-the-token")

    assert (missing.status_code, missing.mimetype, missing.get_json()) == (400, PROBLEM, {
        "type": "about:blank", "title": "Bad Request", "status": 400, "detail": "The CSRF token is missing."})
    assert (wrong.status_code, wrong.get_json()["detail"]) == (400, "The CSRF token is invalid.")
    assert _ballots(db) == []


def test_vote_signed_out_is_a_401_problem(client, db, posters, clock):
    clock.set(DURING)
    csrf = csrf_from(client.get("/sign-in").get_data(as_text=True))

    response = _put(client, "best-poster", {"poster": posters["P1"].code}, csrf)

    assert (response.status_code, response.mimetype, response.get_json()) == (401, PROBLEM, {
        "type": "about:blank", "title": "Unauthorized", "status": 401,
        "detail": "Sign in first: this needs an account."})
    assert _ballots(db) == []


def test_votes_are_rate_limited_per_person_across_the_api_and_the_page(app, client, db, posters, ada):
    p1, p2 = posters["P1"], posters["P2"]
    statuses = [_put(client, "best-poster", {"poster": (p1 if n % 2 else p2).code}, ada.csrf).status_code
                for n in range(60)]
    limited = _put(client, "best-poster", {"poster": p1.code}, ada.csrf)
    page = client.post(f"/posters/{p1.code}/vote", data={"csrf_token": ada.csrf, "category": "best-poster"})
    grace = make_attendee(email="grace@example.org", name="Grace Hopper").user
    neighbour = app.test_client()
    neighbour.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    sign_in(neighbour, grace)
    other = _put(neighbour, "best-poster", {"poster": p1.code}, csrf_from(neighbour.get("/posters").get_data(as_text=True)))

    assert statuses == [200] * 60
    assert (limited.status_code, limited.mimetype, page.status_code) == (429, "application/problem+json", 429)
    assert other.status_code == 200
    # The 60th vote (n = 59, odd: P1) is Ada's last; the refused ones changed nothing.
    assert [(row[0], row[2], row[6]) for row in _ballots(db)] == [(ada.id, p1.id, 59), (grace.id, p1.id, 0)]
