"""Votes at the same moment: one person moving their vote many times keeps one ballot, and many
people voting at once are all counted.

Every thread has its own app context and session (as a request on a real server would) and loads
the person, poster and category by id; ``INSERT ... ON CONFLICT DO UPDATE`` decides the order.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db as _db
from companion.voting import queries, services
from companion.voting.models import Ballot, Poster, VoteCategory
from tests.accounts.factories import make_attendee
from tests.concurrency import run_at_once
from tests.voting.factories import OPENS, make_poster, open_voting

PARIS = ZoneInfo("Europe/Paris")
DURING = OPENS + timedelta(minutes=30)


def _cast(user_id: int, poster_id: int, category_id: int, now=DURING) -> services.VoteResult:  # noqa: ANN001
    return services.cast_vote(_db.session.get(User, user_id), _db.session.get(Poster, poster_id).code,
                              _db.session.get(VoteCategory, category_id).code, now=now, zone=PARIS)


def test_one_attendee_moving_their_vote_twenty_times_at_once_keeps_one_ballot(app, db, conference):
    posters = [make_poster(f"P{n}") for n in range(1, 21)]
    open_voting()
    ada = make_attendee(email="ada@example.org", name="Ada Lovelace").user
    poster_ids, category_id, ada_id = [p.id for p in posters], posters[0].categories[0].id, ada.id
    ids_by_code = {p.code: p.id for p in posters}

    def vote(i: int) -> tuple[str, int]:
        result = _cast(ada_id, poster_ids[i], category_id, now=DURING + timedelta(milliseconds=i))
        return result.poster_code, result.changes

    results = run_at_once(app, 20, vote)

    # Each vote is for another poster, so every write after the first moved the ballot once.
    assert sorted(changes for _, changes in results) == list(range(20))
    assert sorted(ids_by_code[poster] for poster, _ in results) == sorted(poster_ids)
    last_poster = ids_by_code[next(poster for poster, changes in results if changes == 19)]
    db.expire_all()
    ballots = [(b.user_id, b.category_id, b.poster_id, b.counted, b.changes) for b in db.scalars(select(Ballot))]
    assert ballots == [(ada_id, category_id, last_poster, True, 19)]
    assert last_poster in poster_ids
    tally = queries.tally(db.get(VoteCategory, category_id))
    assert (tally.total, [r.poster.id for r in tally.rows if r.votes]) == (1, [last_poster])


def test_fifty_attendees_voting_at_once_are_all_counted(app, db, conference):
    posters = [make_poster(board) for board in ("P1", "P2", "P3")]
    open_voting()
    people = [make_attendee().user.id for _ in range(50)]
    category_id = posters[0].categories[0].id
    choice = {user_id: posters[i % 3].id for i, user_id in enumerate(people)}  # 17, 17, 16

    def vote(i: int) -> int:
        return _cast(people[i], choice[people[i]], category_id).changes

    results = run_at_once(app, 50, vote)

    assert results == [0] * 50
    db.expire_all()
    assert sorted((b.user_id, b.poster_id, b.changes) for b in db.scalars(select(Ballot))) == sorted(
        (user_id, poster_id, 0) for user_id, poster_id in choice.items())
    tally = queries.tally(db.get(VoteCategory, category_id))
    assert [(r.poster.board, r.votes, r.percent, r.rank) for r in tally.rows] == [
        ("P1", 17, 34.0, 1), ("P2", 17, 34.0, 1), ("P3", 16, 32.0, 3)]
    assert (tally.total, [p.board for p in tally.tied_first], tally.winner) == (50, ["P1", "P2"], None)
