"""Voting services and queries: categories, posters, the window, casting a vote, the tally, the
tie-break, reveal, the anonymised ballots, the CSV import and a person's data download."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.accounts import my_data
from companion.accounts.models import AuditEvent, User
from companion.voting import importing, queries, services
from companion.voting.models import Ballot, Poster, TieBreak, VoteCategory, VotingWindow
from companion.voting.my_data import export_votes
from companion.voting.services import PosterFields
from tests.accounts.factories import make_attendee, make_user
from tests.voting.factories import CLOSES, CREATED, OPENS, make_poster, open_voting

PARIS = ZoneInfo("Europe/Paris")
DURING = OPENS + timedelta(minutes=30)
POSTER_CODE = re.compile(r"^[A-HJKMNP-Z2-9]{6}$")


# --- Helpers: read back what was stored -----------------------------------------------------------


def _refusal(call) -> tuple[str, str | None, str]:  # noqa: ANN001 - a zero-argument callable
    with pytest.raises(services.VotingError) as refused:
        call()
    return refused.value.reason, refused.value.loc, str(refused.value)


def _categories(db) -> list[tuple[str, str, int]]:
    db.expire_all()
    return [(c.code, c.name, c.position) for c in queries.categories()]


def _posters(db) -> list[tuple]:
    """(board, title, authors, abstract, category names, created at, updated at) by board."""
    db.expire_all()
    return [(p.board, p.title, p.authors, p.abstract, [c.name for c in p.categories], p.created_at, p.updated_at)
            for p in queries.posters()]


def _ballots(db) -> list[tuple]:
    """(user id, category code, board, counted, cast at, updated at, changes) by id."""
    db.expire_all()
    return [(b.user_id, db.get(VoteCategory, b.category_id).code, db.get(Poster, b.poster_id).board, b.counted,
             b.cast_at, b.updated_at, b.changes) for b in db.scalars(select(Ballot).order_by(Ballot.id))]


def _events(db, action_prefix: str = "voting.") -> list[tuple]:
    """(at, actor id, action, subject, details) of the voting audit events, in order."""
    db.expire_all()
    return [(e.at, e.actor_id, e.action, e.subject, e.details) for e in db.scalars(
        select(AuditEvent).where(AuditEvent.action.startswith(action_prefix)).order_by(AuditEvent.id))]


def _window(db) -> tuple:
    db.expire_all()
    return tuple((w.opens_at, w.closes_at, w.voters, w.updated_at) for w in db.scalars(select(VotingWindow)))


def _voters(n: int) -> list[User]:
    """``n`` new attendees (the factory numbers their addresses)."""
    return [make_attendee().user for _ in range(n)]


def _vote(db, user: User, poster: Poster, category: str = "Best poster", *,
          now: datetime = DURING) -> services.VoteResult:
    result = services.cast_vote(user, poster.code, services.category_named(category, create=False).code, now=now,
                                zone=PARIS)
    db.commit()
    return result


def _votes(db, counts: dict[Poster, int], category: str = "Best poster") -> None:
    """``counts[poster]`` new attendees each vote for ``poster``."""
    for poster, how_many in counts.items():
        for user in _voters(how_many):
            _vote(db, user, poster, category)


def _fields(board: str = "P1", title: str = "Faster kernels", authors: str = "Ada Lovelace",
            abstract: str | None = "What we found.", categories: tuple[str, ...] = ("Best poster",)) -> PosterFields:
    return PosterFields(board, title, authors, abstract, categories)


# --- category_named -------------------------------------------------------------------------------


def test_category_named_reuses_a_category_whatever_the_case_and_spacing(db):
    first = services.category_named("Best poster")
    again = services.category_named("  BEST   poster ")
    looked_up = services.category_named("best Poster", create=False)
    db.commit()

    assert (again.id, looked_up.id) == (first.id, first.id)
    assert _categories(db) == [("best-poster", "Best poster", 0)]


def test_category_named_adds_new_ones_at_the_end_with_unique_slug_codes(db):
    for name in ("Best poster", "People's  choice", "Best poster!", "Prix du Jury: Été", "???"):
        services.category_named(name)
    db.commit()

    assert _categories(db) == [("best-poster", "Best poster", 0), ("people-s-choice", "People's choice", 1),
                               ("best-poster-2", "Best poster!", 2), ("prix-du-jury-ete", "Prix du Jury: Été", 3),
                               ("category", "???", 4)]


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 101])
def test_category_named_refuses_an_empty_or_too_long_name(db, name):
    assert _refusal(lambda: services.category_named(name)) == (
        "category", "category", "A category has a name of 1 to 100 characters.")
    assert _categories(db) == []


def test_category_named_without_create_refuses_an_unknown_name(db):
    services.category_named("Best poster")

    assert _refusal(lambda: services.category_named(" Jury  prize ", create=False)) == (
        "category", "category", "There is no category Jury prize.")
    assert _categories(db) == [("best-poster", "Best poster", 0)]


# --- add_poster and update_poster -----------------------------------------------------------------


def test_add_poster_stores_the_fields_trimmed_with_a_new_code_and_its_categories(db):
    poster = services.add_poster(
        PosterFields("  P12 ", " Faster   kernels ", "Ada Lovelace,\n Grace Hopper", "  What we found.\n\nMore. \n",
                     ("People's choice", "  Best   poster ", "", "People's choice")),
        now=CREATED, rng=random.Random(3))
    db.commit()

    assert POSTER_CODE.fullmatch(poster.code) is not None
    assert _posters(db) == [("P12", "Faster kernels", "Ada Lovelace, Grace Hopper", "What we found.\n\nMore.",
                             ["People's choice", "Best poster"], CREATED, CREATED)]
    assert _categories(db) == [("people-s-choice", "People's choice", 0), ("best-poster", "Best poster", 1)]


def test_add_poster_names_a_category_twice_in_other_case_puts_it_there_once(db):
    services.add_poster(_fields(categories=("Best poster", "best  POSTER")), now=CREATED, rng=random.Random(3))
    db.commit()

    assert [cats for _, _, _, _, cats, _, _ in _posters(db)] == [["Best poster"]]
    assert _categories(db) == [("best-poster", "Best poster", 0)]


def test_add_poster_gives_every_poster_its_own_code(db):
    codes = [make_poster(f"P{n}").code for n in range(1, 21)]

    assert len(set(codes)) == 20
    assert all(POSTER_CODE.fullmatch(code) for code in codes)


def test_add_poster_keeps_an_empty_abstract_as_none(db):
    services.add_poster(_fields(abstract="  \n "), now=CREATED, rng=random.Random(3))

    assert _posters(db)[0][3] is None


@pytest.mark.parametrize(("fields", "loc", "message"), [
    ({"board": "  "}, "board", "The poster needs a board of 1 to 20 characters."),
    ({"board": "B" * 21}, "board", "The poster needs a board of 1 to 20 characters."),
    ({"title": ""}, "title", "The poster needs a title of 1 to 300 characters."),
    ({"title": "t" * 301}, "title", "The poster needs a title of 1 to 300 characters."),
    ({"authors": "\n"}, "authors", "The poster needs a authors of 1 to 500 characters."),
    ({"authors": "a" * 501}, "authors", "The poster needs a authors of 1 to 500 characters."),
    ({"abstract": "a" * 5001}, "abstract", "The abstract has at most 5000 characters."),
    ({"categories": ()}, "categories", "Put the poster in at least one category (for instance Best poster)."),
    ({"categories": ("", "  ")}, "categories", "Put the poster in at least one category (for instance Best poster)."),
    ({"categories": ("Best poster", "c" * 101)}, "categories", "A category has a name of 1 to 100 characters."),
])
def test_add_poster_refuses_a_wrong_field_naming_it(db, fields, loc, message):
    values = {"board": "P1", "title": "Faster kernels", "authors": "Ada", "abstract": None,
              "categories": ("Best poster",), **fields}

    assert _refusal(lambda: services.add_poster(PosterFields(**values), now=CREATED, rng=random.Random(3))) == (
        "field", loc, message)
    db.rollback()
    assert (_posters(db), _categories(db)) == ([], [])


def test_add_poster_accepts_fields_at_their_longest(db):
    services.add_poster(PosterFields("B" * 20, "t" * 300, "a" * 500, "x" * 5000, ("c" * 100,)), now=CREATED,
                        rng=random.Random(3))
    db.commit()

    assert [(len(board), len(title), len(authors), len(abstract), [len(c) for c in cats])
            for board, title, authors, abstract, cats, _, _ in _posters(db)] == [(20, 300, 500, 5000, [100])]


def test_add_poster_refuses_a_board_that_already_has_a_poster(db):
    make_poster("P1", "First")

    assert _refusal(lambda: services.add_poster(_fields(board=" P1 ", title="Second"), now=CREATED,
                                                rng=random.Random(3))) == (
        "board", "board", "Board P1 already has a poster.")
    db.rollback()
    assert [(board, title) for board, title, *_ in _posters(db)] == [("P1", "First")]


def test_update_poster_changes_fields_and_categories_keeping_code_and_creation(db):
    poster = make_poster("P1", "Old title", categories=("Best poster",))
    code = poster.code
    later = CREATED + timedelta(hours=2)

    services.update_poster(poster, PosterFields(" P1 ", "New  title", "Grace Hopper", None,
                                                ("People's choice", "Best poster")), now=later)
    db.commit()

    assert _posters(db) == [("P1", "New title", "Grace Hopper", None, ["Best poster", "People's choice"], CREATED,
                             later)]
    assert db.scalar(select(Poster.code)) == code
    assert _categories(db) == [("best-poster", "Best poster", 0), ("people-s-choice", "People's choice", 1)]


def test_update_poster_can_move_to_a_free_board(db):
    poster = make_poster("P1")

    services.update_poster(poster, _fields(board="P7"), now=CREATED)
    db.commit()

    assert [row[0] for row in _posters(db)] == ["P7"]


def test_update_poster_refuses_another_posters_board(db):
    make_poster("P1", "First")
    second = make_poster("P2", "Second")

    assert _refusal(lambda: services.update_poster(second, _fields(board="P1", title="Changed"),
                                                   now=CREATED + timedelta(hours=1))) == (
        "board", "board", "Board P1 already has a poster.")
    db.rollback()
    assert [(board, title) for board, title, *_ in _posters(db)] == [("P1", "First"), ("P2", "Second")]


def test_update_poster_refuses_a_wrong_field_and_changes_nothing(db):
    poster = make_poster("P1", "Old title")

    assert _refusal(lambda: services.update_poster(poster, _fields(title=" "), now=CREATED)) == (
        "field", "title", "The poster needs a title of 1 to 300 characters.")
    db.rollback()
    assert [(board, title) for board, title, *_ in _posters(db)] == [("P1", "Old title")]


# --- the window -----------------------------------------------------------------------------------


def test_window_is_made_once_not_open_for_any_attendee(db):
    first = services.window()
    again = services.window()
    db.commit()

    assert again is first
    assert _window(db) == ((None, None, "attendees", datetime(2000, 1, 1, tzinfo=UTC)),)
    assert services.is_open(first, DURING) is False


@pytest.mark.parametrize(("moment", "expected"), [
    (OPENS - timedelta(microseconds=1), False),
    (OPENS, True),  # the opening is inclusive
    (CLOSES - timedelta(microseconds=1), True),
    (CLOSES, False),  # the close is exclusive
    (CLOSES + timedelta(days=1), False),
])
def test_is_open_from_the_opening_inclusive_until_the_close_exclusive(db, moment, expected):
    open_voting()

    assert services.is_open(services.window(), moment) is expected


def test_is_open_without_a_close_stays_open(db):
    open_voting(closes_at=None)

    assert services.is_open(services.window(), OPENS + timedelta(days=365)) is True
    assert services.is_open(services.window(), OPENS - timedelta(seconds=1)) is False


def test_is_open_without_an_opening_is_never_open(db):
    open_voting(opens_at=None, closes_at=CLOSES)

    assert services.is_open(services.window(), DURING) is False


def test_set_window_stores_it_and_audits_it(db):
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    services.set_window(OPENS, CLOSES, "checked_in", actor=staff, now=CREATED)
    services.set_window(None, None, "attendees", actor=None, now=CREATED + timedelta(minutes=1))
    db.commit()

    assert _window(db) == ((None, None, "attendees", CREATED + timedelta(minutes=1)),)
    assert _events(db) == [
        (CREATED, staff.id, "voting.window", None,
         {"opens_at": "2026-04-07T16:00:00+00:00", "closes_at": "2026-04-07T17:00:00+00:00", "voters": "checked_in"}),
        (CREATED + timedelta(minutes=1), None, "voting.window", None,
         {"opens_at": None, "closes_at": None, "voters": "attendees"})]


@pytest.mark.parametrize(("opens_at", "closes_at", "voters", "loc", "message"), [
    (OPENS, CLOSES, "everyone", "voters", "Who may vote: any signed-in attendee, or checked-in attendees only."),
    (OPENS, OPENS, "attendees", "closes_at", "The close must come after the opening."),
    (CLOSES, OPENS, "attendees", "closes_at", "The close must come after the opening."),
])
def test_set_window_refuses_a_close_not_after_the_opening_or_unknown_voters(db, opens_at, closes_at, voters, loc,
                                                                             message):
    open_voting()

    assert _refusal(lambda: services.set_window(opens_at, closes_at, voters, actor=None, now=DURING)) == (
        "field", loc, message)
    db.rollback()
    assert _window(db) == ((OPENS, CLOSES, "attendees", CREATED),)
    assert [action for _, _, action, _, _ in _events(db)] == ["voting.window"]


def test_open_now_keeps_a_close_still_ahead(db):
    open_voting(opens_at=None, closes_at=CLOSES)
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")

    services.open_now(actor=staff, now=DURING)
    db.commit()

    assert _window(db) == ((DURING, CLOSES, "attendees", DURING),)
    assert services.is_open(services.window(), DURING) is True
    assert _events(db)[-1] == (DURING, staff.id, "voting.open", None, {"closes_at": "2026-04-07T17:00:00+00:00"})


@pytest.mark.parametrize("moment", [CLOSES, CLOSES + timedelta(hours=1)])
def test_open_now_clears_a_close_already_past(db, moment):
    open_voting()

    services.open_now(actor=None, now=moment)
    db.commit()

    assert _window(db) == ((moment, None, "attendees", moment),)
    assert services.is_open(services.window(), moment + timedelta(days=1)) is True
    assert _events(db)[-1] == (moment, None, "voting.open", None, {"closes_at": None})


def test_open_now_makes_the_window_if_none_was_set(db):
    services.open_now(actor=None, now=DURING)
    db.commit()

    assert _window(db) == ((DURING, None, "attendees", DURING),)


def test_close_now_closes_an_open_window_and_audits_it(db):
    open_voting(closes_at=None)
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")

    services.close_now(actor=staff, now=DURING)
    db.commit()

    assert _window(db) == ((OPENS, DURING, "attendees", DURING),)
    assert services.is_open(services.window(), DURING) is False
    assert _events(db)[-1] == (DURING, staff.id, "voting.close", None, {})


@pytest.mark.parametrize(("window", "moment"), [
    (None, DURING),  # never set
    ((OPENS, CLOSES), OPENS - timedelta(minutes=1)),  # not open yet
    ((OPENS, CLOSES), CLOSES),  # closed already
])
def test_close_now_is_refused_when_voting_is_not_open(db, window, moment):
    if window:
        open_voting(*window)

    assert _refusal(lambda: services.close_now(actor=None, now=moment)) == ("closed", None, "Voting is not open.")
    db.rollback()
    assert [action for _, _, action, _, _ in _events(db)] == (["voting.window"] if window else [])


@pytest.mark.parametrize(("window", "moment", "text"), [
    (None, DURING, "Voting has not opened yet."),
    ((None, CLOSES), DURING, "Voting has not opened yet."),
    ((OPENS, CLOSES), OPENS - timedelta(seconds=1), "Voting opens at 18:00 on 7 April."),
    ((OPENS, CLOSES), OPENS, "Voting is open until 19:00."),
    ((OPENS, None), OPENS + timedelta(days=3), "Voting is open."),
    ((OPENS, CLOSES), CLOSES, "Voting closed at 19:00."),
    ((datetime(2026, 1, 20, 8, 30, tzinfo=UTC), datetime(2026, 1, 20, 10, 0, tzinfo=UTC)),
     datetime(2026, 1, 20, 9, 0, tzinfo=UTC), "Voting is open until 11:00."),  # winter time, UTC+1
    ((datetime(2026, 1, 20, 8, 30, tzinfo=UTC), None), datetime(2026, 1, 1, tzinfo=UTC),
     "Voting opens at 09:30 on 20 January."),
])
def test_window_text_says_each_state_in_the_conference_zone(db, window, moment, text):
    if window:
        open_voting(*window)

    assert services.window_text(services.window(), moment, PARIS) == text


# --- cast_vote ------------------------------------------------------------------------------------


@pytest.fixture
def ada(db) -> User:
    return make_attendee(email="ada@example.org", name="Ada Lovelace").user


def test_cast_vote_first_vote_is_one_counted_ballot(db, ada):
    poster = make_poster("P1", "Faster kernels")
    open_voting()

    result = _vote(db, ada, poster)

    assert (result.category_code, result.category_name, result.poster_code, result.board, result.title, result.changes,
            result.counted) == ("best-poster", "Best poster", poster.code, "P1", "Faster kernels", 0, True)
    assert services.vote_message(result) == "Your vote for Best poster: P1, Faster kernels."
    assert _ballots(db) == [(ada.id, "best-poster", "P1", True, DURING, DURING, 0)]


def test_cast_vote_moving_the_vote_counts_each_move_on_one_ballot(db, ada):
    p1, p2 = make_poster("P1"), make_poster("P2")
    open_voting()
    t1, t2, t3 = DURING, DURING + timedelta(minutes=1), DURING + timedelta(minutes=2)

    changes = [_vote(db, ada, p1, now=t1).changes, _vote(db, ada, p2, now=t2).changes,
               _vote(db, ada, p1, now=t3).changes]

    assert changes == [0, 1, 2]
    assert _ballots(db) == [(ada.id, "best-poster", "P1", True, t1, t3, 2)]


def test_cast_vote_again_for_the_same_poster_is_not_a_change(db, ada):
    p1 = make_poster("P1")
    open_voting()

    changes = [_vote(db, ada, p1, now=DURING).changes, _vote(db, ada, p1, now=DURING + timedelta(minutes=1)).changes]

    assert changes == [0, 0]
    # updated_at is when the vote last moved: the same poster again moves nothing.
    assert _ballots(db) == [(ada.id, "best-poster", "P1", True, DURING, DURING, 0)]


def test_cast_vote_in_two_categories_is_two_ballots(db, ada):
    p1 = make_poster("P1", categories=("Best poster", "People's choice"))
    p2 = make_poster("P2", categories=("People's choice",))
    open_voting()

    _vote(db, ada, p1, "Best poster")
    _vote(db, ada, p2, "People's choice")

    assert _ballots(db) == [(ada.id, "best-poster", "P1", True, DURING, DURING, 0),
                            (ada.id, "people-s-choice", "P2", True, DURING, DURING, 0)]
    assert queries.my_ballots(ada.id) == {p1.categories[0].id: p1.id, p2.categories[0].id: p2.id}


def test_cast_vote_refuses_a_poster_not_in_the_category(db, ada):
    poster = make_poster("P1", "Faster kernels", categories=("Best poster",))
    make_poster("P2", categories=("People's choice",))
    open_voting()

    assert _refusal(lambda: _vote(db, ada, poster, "People's choice")) == (
        "category", "category", "Faster kernels is not in People's choice.")
    db.rollback()
    assert _ballots(db) == []


@pytest.mark.parametrize(("window", "moment", "reason", "message"), [
    (None, DURING, "not_open", "Voting has not opened yet."),
    ((OPENS, CLOSES), OPENS - timedelta(seconds=1), "not_open", "Voting has not opened yet at 18:00 on 7 April."),
    ((OPENS, CLOSES), CLOSES, "closed", "Voting closed at 19:00. Your earlier vote, if any, stands."),
    ((OPENS, CLOSES), CLOSES + timedelta(days=1), "closed",
     "Voting closed at 19:00. Your earlier vote, if any, stands."),
])
def test_cast_vote_outside_the_window_is_refused_saying_when(db, ada, window, moment, reason, message):
    poster = make_poster("P1")
    if window:
        open_voting(*window)

    assert _refusal(lambda: _vote(db, ada, poster, now=moment)) == (reason, None, message)
    db.rollback()
    assert _ballots(db) == []


def test_cast_vote_after_the_close_keeps_the_earlier_vote(db, ada):
    p1, p2 = make_poster("P1"), make_poster("P2")
    open_voting()
    _vote(db, ada, p1, now=CLOSES - timedelta(microseconds=1))

    assert _refusal(lambda: _vote(db, ada, p2, now=CLOSES))[0] == "closed"
    db.rollback()
    assert _ballots(db) == [(ada.id, "best-poster", "P1", True, CLOSES - timedelta(microseconds=1),
                             CLOSES - timedelta(microseconds=1), 0)]


def test_cast_vote_by_someone_without_attendee_profile_or_role_is_refused(db):
    nobody = make_user(email="visitor@example.org", name="Visitor")
    poster = make_poster("P1")
    open_voting()

    assert _refusal(lambda: _vote(db, nobody, poster)) == ("not_allowed", None, "Only attendees can vote.")
    db.rollback()
    assert _ballots(db) == []


def test_cast_vote_checked_in_only_refuses_those_not_checked_in(db, ada):
    grace = make_attendee(email="grace@example.org", name="Grace Hopper")
    grace.checked_in_at = OPENS - timedelta(hours=5)
    db.commit()
    poster = make_poster("P1")
    open_voting(voters="checked_in")

    assert _refusal(lambda: _vote(db, ada, poster)) == (
        "not_checked_in", None, "Only checked-in attendees can vote: show your badge at the door first.")
    db.rollback()
    assert _vote(db, grace.user, poster).counted is True
    assert _ballots(db) == [(grace.user_id, "best-poster", "P1", True, DURING, DURING, 0)]


def test_cast_vote_by_staff_is_kept_but_not_counted(db):
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    staff_attendee = make_attendee(email="kim@example.org", name="Kim Staff", role="staff").user
    poster = make_poster("P1", "Faster kernels")
    open_voting(voters="checked_in")  # staff may try the page without a check-in

    result = _vote(db, staff, poster)
    _vote(db, staff_attendee, poster)

    assert (result.changes, result.counted) == (0, False)
    assert services.vote_message(result) == (
        "Your vote for Best poster: P1, Faster kernels. Staff votes are kept for trying the page but not counted.")
    assert _ballots(db) == [(staff.id, "best-poster", "P1", False, DURING, DURING, 0),
                            (staff_attendee.id, "best-poster", "P1", False, DURING, DURING, 0)]


# --- the tally ------------------------------------------------------------------------------------


def _rows(tally: queries.Tally) -> list[tuple[str, int, float, int]]:
    return [(r.poster.board, r.votes, r.percent, r.rank) for r in tally.rows]


def _best(db) -> VoteCategory:
    db.expire_all()
    return services.category_named("Best poster", create=False)


def test_tally_lists_posters_without_votes_by_board(db):
    for board in ("P10", "P2", "P1"):
        make_poster(board)

    tally = queries.tally(_best(db))

    assert _rows(tally) == [("P1", 0, 0.0, 1), ("P2", 0, 0.0, 1), ("P10", 0, 0.0, 1)]
    assert (tally.total, tally.tied_first, tally.tie_break, tally.winner) == (0, [], None, None)


def test_tally_ranks_by_votes_and_tied_posters_share_a_rank(db):
    p1, p2, p3, p4, p10 = (make_poster(board) for board in ("P1", "P2", "P3", "P4", "P10"))
    open_voting()
    _votes(db, {p10: 2, p2: 2, p3: 1, p1: 3})

    tally = queries.tally(_best(db))

    assert _rows(tally) == [("P1", 3, 37.5, 1), ("P2", 2, 25.0, 2), ("P10", 2, 25.0, 2), ("P3", 1, 12.5, 4),
                            ("P4", 0, 0.0, 5)]
    assert (tally.total, [p.board for p in tally.tied_first], tally.winner.board) == (8, ["P1"], "P1")


def test_tally_percentages_are_rounded_to_one_decimal(db):
    p1, p2, p3 = (make_poster(board) for board in ("P1", "P2", "P3"))
    open_voting()
    _votes(db, {p1: 2, p2: 1, p3: 0})

    assert _rows(queries.tally(_best(db))) == [("P1", 2, 66.7, 1), ("P2", 1, 33.3, 2), ("P3", 0, 0.0, 3)]


def test_tally_with_a_tie_first_has_no_winner_until_staff_break_it(db):
    p1, p2, p3 = (make_poster(board) for board in ("P1", "P2", "P3"))
    open_voting()
    _votes(db, {p1: 2, p2: 2, p3: 1})

    tied = queries.tally(_best(db))
    assert _rows(tied) == [("P1", 2, 40.0, 1), ("P2", 2, 40.0, 1), ("P3", 1, 20.0, 3)]
    assert ([p.board for p in tied.tied_first], tied.tie_break, tied.winner) == (["P1", "P2"], None, None)

    services.break_tie(_best(db), db.get(Poster, p2.id), "Jury vote at 19:10", tied=tied.tied_first, actor=None,
                       now=CLOSES)
    db.commit()
    broken = queries.tally(_best(db))
    assert (broken.tie_break.poster.board, broken.tie_break.reason, broken.winner.board) == (
        "P2", "Jury vote at 19:10", "P2")


def test_tally_ignores_a_tie_break_once_the_votes_no_longer_tie(db):
    p1, p2, p3 = (make_poster(board) for board in ("P1", "P2", "P3"))
    open_voting()
    _votes(db, {p1: 1, p2: 1})
    services.break_tie(_best(db), db.get(Poster, p2.id), "Coin toss", tied=queries.tally(_best(db)).tied_first,
                       actor=None, now=DURING)
    db.commit()

    _votes(db, {p1: 1, p3: 2})  # now P1 and P3 tie first, P2 is behind
    tally = queries.tally(_best(db))

    assert ([p.board for p in tally.tied_first], tally.tie_break.poster.board, tally.winner) == (
        ["P1", "P3"], "P2", None)


def test_tally_leaves_out_staff_ballots(db):
    p1, p2 = make_poster("P1"), make_poster("P2")
    open_voting()
    _votes(db, {p1: 1})
    for n in range(3):
        _vote(db, make_user(email=f"staff{n}@example.org", role="staff"), p2)

    tally = queries.tally(_best(db))

    assert _rows(tally) == [("P1", 1, 100.0, 1), ("P2", 0, 0.0, 2)]
    assert (tally.total, tally.winner.board) == (1, "P1")


def test_tally_keeps_the_votes_of_a_poster_taken_out_of_the_category(db):
    p1 = make_poster("P1", categories=("Best poster", "People's choice"))
    p2 = make_poster("P2", categories=("People's choice",))
    open_voting()
    _votes(db, {p1: 2, p2: 1}, "People's choice")

    services.update_poster(p1, _fields(board="P1", title="Poster on board P1", categories=("Best poster",)),
                           now=DURING)
    db.commit()

    people = queries.tally(services.category_named("People's choice", create=False))
    assert _rows(people) == [("P1", 2, 66.7, 1), ("P2", 1, 33.3, 2)]
    assert (people.total, people.winner.board) == (3, "P1")
    assert [p.board for p in queries.posters(services.category_named("People's choice", create=False))] == ["P2"]
    assert _rows(queries.tally(_best(db))) == [("P1", 0, 0.0, 1)]


def test_tally_of_a_category_without_posters_is_empty(db):
    category = services.category_named("Jury prize")
    db.commit()

    tally = queries.tally(category)

    assert (tally.rows, tally.total, tally.tied_first, tally.winner) == ([], 0, [], None)


# --- break_tie and reveal -------------------------------------------------------------------------


def _tied(db) -> tuple[Poster, Poster, Poster, list[Poster]]:
    p1, p2, p3 = (make_poster(board, f"Poster {board}") for board in ("P1", "P2", "P3"))
    open_voting()
    _votes(db, {p1: 2, p2: 2, p3: 1})
    return p1, p2, p3, queries.tally(_best(db)).tied_first


def test_break_tie_refuses_a_poster_not_among_the_tied(db):
    _, _, p3, tied = _tied(db)

    assert _refusal(lambda: services.break_tie(_best(db), p3, "Jury vote", tied=tied, actor=None, now=CLOSES)) == (
        "tie", "poster", "Poster P3 is not among the posters tied first.")
    db.rollback()
    assert (db.scalars(select(TieBreak)).all(), _events(db, "voting.tie_break")) == ([], [])


@pytest.mark.parametrize("reason", ["", "  \n ", None, "r" * 501])
def test_break_tie_requires_a_reason(db, reason):
    p1, _, _, tied = _tied(db)

    assert _refusal(lambda: services.break_tie(_best(db), p1, reason, tied=tied, actor=None, now=CLOSES)) == (
        "tie", "reason", "Say how the tie was broken (1 to 500 characters), for the record.")
    db.rollback()
    assert (db.scalars(select(TieBreak)).all(), _events(db, "voting.tie_break")) == ([], [])


def test_break_tie_again_replaces_the_decision_and_both_are_audited(db):
    p1, p2, _, tied = _tied(db)
    sam = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    kim = make_user(email="kim@example.org", name="Kim Staff", role="staff")
    later = CLOSES + timedelta(minutes=5)

    services.break_tie(_best(db), p1, "  Coin   toss ", tied=tied, actor=sam, now=CLOSES)
    db.commit()
    services.break_tie(_best(db), p2, "Jury vote at 19:10", tied=tied, actor=kim, now=later)
    db.commit()

    db.expire_all()
    assert [(t.category_id, t.poster_id, t.reason, t.decided_at, t.decided_by_id)
            for t in db.scalars(select(TieBreak))] == [(_best(db).id, p2.id, "Jury vote at 19:10", later, kim.id)]
    tied_codes = [p1.code, p2.code]
    assert _events(db, "voting.tie_break") == [
        (CLOSES, sam.id, "voting.tie_break", "best-poster",
         {"poster": p1.code, "board": "P1", "reason": "Coin toss", "tied": tied_codes}),
        (later, kim.id, "voting.tie_break", "best-poster",
         {"poster": p2.code, "board": "P2", "reason": "Jury vote at 19:10", "tied": tied_codes})]
    assert queries.tally(_best(db)).winner.board == "P2"


def test_reveal_and_hide_set_the_time_and_are_audited(db):
    make_poster("P1")
    sam = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    later = CLOSES + timedelta(minutes=10)

    services.reveal(_best(db), True, actor=sam, now=CLOSES)
    db.commit()
    assert _best(db).revealed_at == CLOSES
    services.reveal(_best(db), False, actor=None, now=later)
    db.commit()

    assert _best(db).revealed_at is None
    assert _events(db) == [(CLOSES, sam.id, "voting.reveal", "best-poster", {}),
                           (later, None, "voting.hide", "best-poster", {})]


# --- ballots_csv ----------------------------------------------------------------------------------


def test_ballots_csv_without_ballots_is_the_header_and_its_hash(db):
    text, digest = queries.ballots_csv()

    assert (text, digest) == ("category,board,poster,counted\r\n",
                              hashlib.sha256(b"category,board,poster,counted\r\n").hexdigest())


def test_ballots_csv_is_sorted_by_category_and_board_not_by_time_or_person(db):
    p10 = make_poster("P10", categories=("Best poster",))
    p2 = make_poster("P2", categories=("Best poster", "People's choice"))
    p1 = make_poster("P1", categories=("People's choice",))
    open_voting()
    staff = make_user(email="sam@example.org", name="Sam Staff", role="staff")
    # People's choice first, the staff ballot before the counted ones: the order cast must not show.
    _vote(db, staff, p2)
    _votes(db, {p1: 1, p2: 1}, "People's choice")
    _votes(db, {p10: 2, p2: 1})

    text, digest = queries.ballots_csv()

    assert text == (  # RFC 4180 lines (CRLF), as every CSV download
        "category,board,poster,counted\r\n"
        f"best-poster,P2,{p2.code},yes\r\n"
        f"best-poster,P2,{p2.code},no (staff)\r\n"
        f"best-poster,P10,{p10.code},yes\r\n"
        f"best-poster,P10,{p10.code},yes\r\n"
        f"people-s-choice,P1,{p1.code},yes\r\n"
        f"people-s-choice,P2,{p2.code},yes\r\n")
    assert digest == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_ballots_csv_quotes_a_board_with_a_comma(db):
    poster = make_poster('P1, "left"')
    open_voting()
    _votes(db, {poster: 1})

    assert queries.ballots_csv()[0] == (
        f'category,board,poster,counted\r\nbest-poster,"P1, ""left""",{poster.code},yes\r\n')


def test_ballots_csv_neutralises_a_board_that_looks_like_a_formula(db):
    poster = make_poster("=HYPERLINK(1)")
    open_voting()
    _votes(db, {poster: 1})

    assert queries.ballots_csv()[0] == (
        f"category,board,poster,counted\r\nbest-poster,'=HYPERLINK(1),{poster.code},yes\r\n")


# --- importing ------------------------------------------------------------------------------------


def _parse_refusal(text: str | bytes) -> tuple[str, str | None, str]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _refusal(lambda: importing.parse(data))


def test_parse_reads_columns_in_any_order_with_a_default_category(db):
    data = ("\ufeff Title ,BOARD,authors,Categories,abstract\n"
            "Faster kernels,P1,Ada Lovelace,Best poster; People's choice ;,  Found it. \n"
            ",,,,\n"
            "\n"
            "Smaller models,P2,Grace Hopper,,\n").encode("utf-8")

    assert importing.parse(data) == [
        PosterFields("P1", "Faster kernels", "Ada Lovelace", "Found it.", ("Best poster", "People's choice")),
        PosterFields("P2", "Smaller models", "Grace Hopper", None, ("Best poster",)),
    ]


def test_parse_without_categories_or_abstract_columns_uses_the_defaults(db):
    assert importing.parse(b"board,title,authors\nP1,Faster kernels,Ada\n") == [
        PosterFields("P1", "Faster kernels", "Ada", None, ("Best poster",))]


@pytest.mark.parametrize(("text", "message"), [
    ("", "The first row must name the columns; missing: board, title, authors."),
    ("board,title\nP1,Faster kernels\n", "The first row must name the columns; missing: authors."),
    ("poster,name,people\nP1,Faster kernels,Ada\n",
     "The first row must name the columns; missing: board, title, authors."),
])
def test_parse_refuses_a_file_without_the_required_columns(db, text, message):
    assert _parse_refusal(text) == ("file", "line 1", message)


@pytest.mark.parametrize("text", ["board,title,authors\n", "board,title,authors\n,,\n\n"])
def test_parse_refuses_a_file_without_posters(db, text):
    assert _parse_refusal(text) == ("file", "file", "The file has no posters.")


@pytest.mark.parametrize(("text", "loc", "message"), [
    ("board,title,authors\nP1,Faster kernels,Ada\nP2,,Grace\n", "line 3",
     "Line 3, title: The poster needs a title of 1 to 300 characters."),
    ("board,title,authors\nP1,Faster kernels,Ada\n,Smaller models,Grace\n", "line 3",
     "Line 3, board: The poster needs a board of 1 to 20 characters."),
    ("board,title,authors,abstract\nP1,Faster kernels,Ada," + "x" * 5001 + "\n", "line 2",
     "Line 2, abstract: The abstract has at most 5000 characters."),
    ("board,title,authors\nP1,Faster kernels\n", "line 2",
     "Line 2, authors: The poster needs a authors of 1 to 500 characters."),
])
def test_parse_names_the_line_and_column_of_a_bad_row(db, text, loc, message):
    assert _parse_refusal(text) == ("file", loc, message)


@pytest.mark.parametrize("text", [
    "board,title,authors,abstract\n\nP1,Faster kernels,Ada,\n\nP2,,Grace,\n",
    'board,title,authors,abstract\nP1,Faster kernels,Ada,"First paragraph.\n\nSecond."\nP2,,Grace,\n',
])
def test_parse_names_the_line_in_the_file_after_blank_or_multiline_rows(db, text):
    assert _parse_refusal(text) == (
        "file", "line 5", "Line 5, title: The poster needs a title of 1 to 300 characters.")


def test_parse_refuses_a_category_name_too_long_naming_the_line(db):
    text = "board,title,authors,categories\nP1,Faster kernels,Ada,Best poster\nP2,Smaller models,Grace," + "c" * 101

    assert _parse_refusal(text) == (
        "file", "line 3", "Line 3, categories: A category has a name of 1 to 100 characters.")


def test_parse_refuses_a_board_twice_naming_both_lines(db):
    text = "board,title,authors\nP1,Faster kernels,Ada\nP2,Smaller models,Grace\n P1 ,Again,Alan\n"

    assert _parse_refusal(text) == ("file", "line 4", "Line 4: board P1 is also on line 2.")


def test_parse_refuses_a_file_that_is_not_utf8(db):
    data = "board,title,authors\nP1,Modèles réduits,Zoé\n".encode("cp1252")

    assert _parse_refusal(data) == ("file", "file", "The file is not UTF-8 text: save it as CSV UTF-8 and try again.")


def test_parse_refuses_more_than_2000_posters(db):
    text = "board,title,authors\n" + "".join(f"P{n},Poster {n},Ada\n" for n in range(1, 2002))

    assert _parse_refusal(text) == ("file", "line 2002", "At most 2000 posters per file.")
    assert len(importing.parse(text.rsplit("P2001", 1)[0].encode())) == 2000


def test_apply_adds_new_boards_and_updates_known_ones(db):
    known = make_poster("P1", "Old title", categories=("People's choice",))
    code = known.code
    rows = importing.parse(b"board,title,authors,categories\nP2,Second,Grace,Jury prize\nP1,New title,Ada,\n")
    later = CREATED + timedelta(days=1)

    report = importing.apply(rows, now=later, rng=random.Random(3))
    db.commit()

    assert (report, report.summary()) == (importing.ImportReport(added=1, updated=1), "added 1, updated 1")
    assert _posters(db) == [("P1", "New title", "Ada", None, ["Best poster"], CREATED, later),
                            ("P2", "Second", "Grace", None, ["Jury prize"], later, later)]
    assert db.scalar(select(Poster.code).where(Poster.board == "P1")) == code
    assert _categories(db) == [("people-s-choice", "People's choice", 0), ("jury-prize", "Jury prize", 1),
                               ("best-poster", "Best poster", 2)]


def test_apply_reuses_a_new_category_for_every_row_that_names_it(db):
    rows = importing.parse("board,title,authors,categories\nP1,A,Ada,Prix Été\nP2,B,Grace,prix été\n".encode())

    report = importing.apply(rows, now=CREATED, rng=random.Random(3))
    db.commit()

    assert report.summary() == "added 2, updated 0"
    assert [cats for _, _, _, _, cats, _, _ in _posters(db)] == [["Prix Été"], ["Prix Été"]]
    assert _categories(db) == [("prix-ete", "Prix Été", 0)]


def test_apply_a_row_naming_a_category_twice_in_other_case(db):
    make_poster("P1", "Old title")
    rows = importing.parse(b"board,title,authors,categories\nP1,New title,Ada,Best poster; best poster\n"
                           b"P2,Second,Grace,People's choice;PEOPLE'S CHOICE\n")

    assert importing.apply(rows, now=CREATED, rng=random.Random(3)).summary() == "added 1, updated 1"
    db.commit()
    assert [(board, cats) for board, _, _, _, cats, _, _ in _posters(db)] == [
        ("P1", ["Best poster"]), ("P2", ["People's choice"])]


# --- my data --------------------------------------------------------------------------------------


def test_export_votes_lists_only_my_ballots_by_category_order(db, ada):
    p1 = make_poster("P1", "Faster kernels", categories=("Best poster", "People's choice"))
    p2 = make_poster("P2", "Smaller models", categories=("People's choice",))
    open_voting()
    grace = make_attendee(email="grace@example.org", name="Grace Hopper").user
    later = DURING + timedelta(minutes=5)
    _vote(db, ada, p2, "People's choice")
    _vote(db, ada, p1, "Best poster", now=later)
    _vote(db, ada, p1, "People's choice", now=later)
    _vote(db, grace, p2, "People's choice")

    assert export_votes(ada) == [
        {"category": "Best poster", "board": "P1", "title": "Faster kernels", "cast_at": "2026-04-07T16:35:00+00:00",
         "updated_at": "2026-04-07T16:35:00+00:00", "changes": 0},
        {"category": "People's choice", "board": "P1", "title": "Faster kernels",
         "cast_at": "2026-04-07T16:30:00+00:00", "updated_at": "2026-04-07T16:35:00+00:00", "changes": 1},
    ]
    assert export_votes(make_attendee(email="alan@example.org").user) == []


def test_export_votes_is_a_section_of_the_data_download(db, ada):
    make_poster("P1", "Faster kernels")
    open_voting()
    _vote(db, ada, db.scalar(select(Poster)))

    assert "poster_votes" in my_data.registered_sections()
    assert my_data.export_person(ada)["poster_votes"] == [
        {"category": "Best poster", "board": "P1", "title": "Faster kernels", "cast_at": "2026-04-07T16:30:00+00:00",
         "updated_at": "2026-04-07T16:30:00+00:00", "changes": 0}]


def test_deleting_an_account_keeps_its_ballot_in_the_tally_unlinked(db, ada):
    poster = make_poster("P1")
    open_voting()
    _vote(db, ada, poster)

    my_data.delete_person(db.get(User, ada.id), now=CLOSES)
    db.commit()

    assert _ballots(db) == [(None, "best-poster", "P1", True, DURING, DURING, 0)]
    assert _rows(queries.tally(_best(db))) == [("P1", 1, 100.0, 1)]
    assert db.scalar(select(func.count()).select_from(User).where(User.id == ada.id)) == 0
