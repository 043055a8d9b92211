"""Poster voting over HTTP: the poster page's vote and "your vote", moving it, closed windows,
counts hidden until the reveal, the staff tally, tie-break, exports, the CSV import, the screen."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import lxml.html
import pytest
from sqlalchemy import select

from companion.accounts.models import AuditEvent
from companion.extensions import db as _db
from companion.voting.models import Ballot, Poster
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.voting.factories import CLOSES, OPENS, make_poster, open_voting

DURING = OPENS + timedelta(minutes=30)


def _doc(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def _texts(response, xpath: str) -> list[str]:
    return [" ".join(node.text_content().split()) for node in _doc(response).xpath(xpath)]


def _vote(client, poster: Poster, category: str = "best-poster"):
    token = csrf_from(client.get(f"/posters/{poster.code}").get_data(as_text=True))
    return client.post(f"/posters/{poster.code}/vote", data={"csrf_token": token, "category": category})


def _ballots() -> list[tuple]:
    _db.session.expire_all()
    return [(b.user_id, b.category_id, b.poster_id, b.counted, b.changes)
            for b in _db.session.scalars(select(Ballot).order_by(Ballot.id))]


@pytest.fixture
def ada(client, conference):
    user = make_attendee(email="ada@example.org", name="Ada Lovelace").user
    sign_in(client, user)
    return user


def test_vote_shows_your_vote_and_moving_it_keeps_one_ballot(client, ada, clock):
    p1, p2 = make_poster("P1", "Faster kernels"), make_poster("P2", "Smaller models")
    open_voting()
    clock.set(DURING)

    voted = _vote(client, p1)
    assert voted.status_code == 303
    page = client.get(f"/posters/{p1.code}")
    assert _texts(page, "//*[@data-flash]") == ["Your vote for Best poster: P1, Faster kernels."]
    assert _texts(page, "//*[@data-my-vote]") == ["Your vote for Best poster is this poster."]
    assert _doc(page).xpath("//button[@data-vote]") == []
    other = client.get(f"/posters/{p2.code}")
    assert _texts(other, "//*[@data-my-vote-elsewhere]") == ["Your vote for Best poster is P1, Faster kernels."]
    assert _texts(other, "//button[@data-vote]") == ["Move my vote here"]

    assert _vote(client, p2).status_code == 303
    category_id = p1.categories[0].id
    assert _ballots() == [(ada.id, category_id, p2.id, True, 1)]
    listing = client.get("/posters")
    assert _doc(listing).xpath("//li[contains(@class, 'is-my-vote')]/@data-poster") == [p2.code]
    assert _doc(listing).xpath("//*[@data-results]") == []  # no counts before the reveal


def test_votes_a_second_before_and_after_the_close(client, ada, clock):
    p1, p2 = make_poster("P1", "Faster kernels"), make_poster("P2", "Smaller models")
    open_voting()
    clock.set(CLOSES - timedelta(seconds=1))
    assert _vote(client, p1).status_code == 303
    clock.set(CLOSES)
    late = _vote(client, p2)

    assert late.status_code == 422
    assert _texts(late, "//*[@data-vote-error]") == ["Voting closed at 19:00. Your earlier vote, if any, stands."]
    assert _ballots() == [(ada.id, p1.categories[0].id, p1.id, True, 0)]
    assert _texts(client.get(f"/posters/{p2.code}"), "//*[@data-voting-closed]") == ["Voting closed at 19:00."]


def test_voting_before_the_opening_says_when_it_opens(client, ada, clock):
    poster = make_poster("P1")
    open_voting()
    clock.set(OPENS - timedelta(minutes=5))
    early = _vote(client, poster)
    assert early.status_code == 422
    assert _texts(early, "//*[@data-vote-error]") == ["Voting has not opened yet at 18:00 on 7 April."]
    assert _ballots() == []


def test_checked_in_only_refuses_an_attendee_not_checked_in(client, ada, clock):
    poster = make_poster("P1")
    open_voting(voters="checked_in")
    clock.set(DURING)
    refused = _vote(client, poster)
    assert refused.status_code == 422
    assert _texts(refused, "//*[@data-vote-error]") == [
        "Only checked-in attendees can vote: show your badge at the door first."]
    assert _ballots() == []


def test_a_signed_out_visitor_sees_the_poster_and_a_sign_in_button(app, conference, clock):
    poster = make_poster("P7", "Graph compilers", abstract="First paragraph.\n\nSecond paragraph.")
    open_voting()
    clock.set(DURING)
    client = app.test_client()
    page = client.get(f"/posters/{poster.code.lower()}")
    assert page.status_code == 200
    assert _texts(page, "//h1") == ["P7 Graph compilers"]
    assert _texts(page, "//main//a[contains(@href, '/sign-in')]") == ["Sign in to vote"]
    assert _texts(page, "//section[@aria-labelledby='abstract-heading']/p") == ["First paragraph.", "Second paragraph."]
    assert client.get("/posters/NOPE").status_code == 404


def test_staff_votes_are_kept_but_not_counted(client, conference, clock):
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    sign_in(client, staff)
    poster = make_poster("P1", "Faster kernels")
    open_voting()
    clock.set(DURING)
    assert _vote(client, poster).status_code == 303
    assert _texts(client.get(f"/posters/{poster.code}"), "//*[@data-flash]") == [
        "Your vote for Best poster: P1, Faster kernels. Staff votes are kept for trying the page but not counted."]
    assert _ballots() == [(staff.id, poster.categories[0].id, poster.id, False, 0)]
    tally = client.get("/staff/voting")
    assert _texts(tally, "//*[@data-category='best-poster']//*[@data-total]") == ["0 votes"]


@pytest.fixture
def staff(client, conference):
    user = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    sign_in(client, user)
    return user


def _cast(app, clock, votes: dict[str, list[str]]) -> None:
    """Attendees vote through their own clients: board -> list of voter names."""
    clock.set(DURING)
    posters = {p.board: p for p in _db.session.scalars(select(Poster))}
    n = 0
    for board, voters in votes.items():
        for name in voters:
            n += 1
            person = make_attendee(email=f"voter{n}@example.org", name=name).user
            client = app.test_client()
            from tests.conftest import TEST_USER_AGENT

            client.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
            sign_in(client, person)
            assert _vote(client, posters[board]).status_code == 303


def _staff_post(client, path: str, **data):
    data["csrf_token"] = csrf_from(client.get("/staff/voting").get_data(as_text=True))
    return client.post(path, data=data)


def test_tally_ties_tie_break_reveal_and_exports(app, client, staff, clock):
    for board in ("P1", "P2", "P3"):
        make_poster(board, f"Poster {board}")
    open_voting()
    _cast(app, clock, {"P1": ["A", "B"], "P2": ["C", "D"], "P3": ["E"]})

    page = client.get("/staff/voting")
    rows = [[" ".join(td.text_content().split()) for td in tr.xpath("td")]
            for tr in _doc(page).xpath("//table[@data-table='tally-best-poster']/tbody/tr")]
    assert rows == [["1=", "P1", "Poster P1", "2", "40.0 %"], ["1=", "P2", "Poster P2", "2", "40.0 %"],
                    ["3", "P3", "Poster P3", "1", "20.0 %"]]
    assert _texts(page, "//*[@data-tie]") == ["Tied first with 2 votes: P1, P2. Staff decide the winner below."]
    assert _doc(page).xpath("//img[starts-with(@alt, 'Best poster, 5 votes: P1 2 (40 %), P2 2 (40 %), P3 1 (20 %).')]")

    p2 = _db.session.scalar(select(Poster).where(Poster.board == "P2"))
    p3 = _db.session.scalar(select(Poster).where(Poster.board == "P3"))
    refused = _staff_post(client, "/staff/voting/tie-break", category="best-poster", poster=p3.code, reason="no")
    assert refused.status_code == 422
    assert _staff_post(client, "/staff/voting/tie-break", category="best-poster", poster=p2.code,
                       reason="Jury vote at 19:10").status_code == 303
    assert _texts(client.get("/staff/voting"), "//*[@data-tie]") == [
        "Tied first with 2 votes: P1, P2. Broken for P2: Jury vote at 19:10."]

    attendee_view = app.test_client().get("/posters")
    assert _doc(attendee_view).xpath("//*[@data-results]") == []
    assert _staff_post(client, "/staff/voting/reveal", category="best-poster", shown="yes").status_code == 303
    assert _texts(app.test_client().get("/posters"), "//*[@data-results]") == [
        "Results: P2, Poster P2 won with 2 of 5 votes."]

    results = client.get("/staff/voting/results.csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(results)))[1:] == [
        ["best-poster", "1", "P1", _code("P1"), "Poster P1", "2", "40.0", ""],
        ["best-poster", "1", "P2", _code("P2"), "Poster P2", "2", "40.0", "yes"],
        ["best-poster", "3", "P3", _code("P3"), "Poster P3", "1", "20.0", ""]]
    ballots = client.get("/staff/voting/ballots.csv")
    body = ballots.get_data(as_text=True)
    assert body.splitlines() == ["category,board,poster,counted"] + [
        f"best-poster,{b},{_code(b)},yes" for b in ("P1", "P1", "P2", "P2", "P3")]
    assert ballots.headers["X-Content-SHA256"] == hashlib.sha256(body.encode()).hexdigest()
    assert _texts(client.get("/staff/voting"), "//*[@data-ballots-sha256]") == [hashlib.sha256(body.encode()).hexdigest()]

    log = list(csv.DictReader(io.StringIO(client.get("/staff/voting/log?format=csv").get_data(as_text=True))))
    assert [(r["actor"], r["action"]) for r in log] == [
        ("system", "voting.window"), ("Sam Staff", "voting.tie_break"), ("Sam Staff", "voting.reveal"),
        ("Sam Staff", "voting.export_ballots")]


def _code(board: str) -> str:
    return _db.session.scalar(select(Poster.code).where(Poster.board == board))


def test_results_screen_reveals_third_second_then_first(app, client, staff, clock):
    for board in ("P1", "P2", "P3", "P4"):
        make_poster(board, f"Poster {board}")
    open_voting()
    _cast(app, clock, {"P1": ["A"], "P2": ["B", "C", "D"], "P3": ["E", "F"], "P4": []})

    first = client.get("/staff/voting/screen/best-poster")
    places = _doc(first).xpath("//li[@data-place]")
    assert [(li.get("data-place"), li.get("hidden")) for li in places] == [("3", ""), ("2", ""), ("1", "")]
    assert _texts(first, "//a[@data-next]") == ["Reveal third place"]
    shown = client.get("/staff/voting/screen/best-poster?shown=2")
    assert [(li.get("data-place"), li.get("hidden")) for li in _doc(shown).xpath("//li[@data-place]")] == [
        ("3", None), ("2", None), ("1", "")]
    assert _texts(shown, "//li[@data-place='2']/*[@class='voting-place-board']") == ["P3"]
    assert _texts(shown, "//a[@data-next]") == ["Reveal the winner"]


def test_poster_import_is_all_or_nothing_and_updates_known_boards(client, staff):
    make_poster("P1", "Old title")
    bad = "board,title,authors,categories\nP1,New title,Ada\nP2,,Grace,Best poster\n"
    response = _import(client, bad)
    assert response.status_code == 400
    assert _texts(response, "//*[@data-form-error]") == [
        "Nothing was changed. Line 3, title: The poster needs a title of 1 to 300 characters."]
    assert [(p.board, p.title) for p in _db.session.scalars(select(Poster).order_by(Poster.board))] == [("P1", "Old title")]

    good = "board,title,authors,abstract,categories\nP1,New title,Ada,,Best poster; People's choice\nP2,Second,Grace,An abstract,Best poster\n"
    assert _import(client, good).status_code == 303
    _db.session.expire_all()
    assert [(p.board, p.title, [c.name for c in p.categories]) for p in _db.session.scalars(select(Poster).order_by(Poster.board))] == [
        ("P1", "New title", ["Best poster", "People's choice"]), ("P2", "Second", ["Best poster"])]
    assert _db.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "voting.poster_import")).all() == [
        {"added": 1, "updated": 1}]


def _import(client, text: str):
    token = csrf_from(client.get("/staff/voting/posters").get_data(as_text=True))
    return client.post("/staff/voting/posters/import", data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "posters.csv")},
                       content_type="multipart/form-data")
