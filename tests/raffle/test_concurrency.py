"""Staff pressing the same button at the same moment: one freeze, one draw, one redraw.

Every thread has its own app context and session (as a request on a real server would) and loads
the raffle by id; the conditional updates of the raffle row decide who goes first.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from companion.accounts.models import AuditEvent
from companion.extensions import db as _db
from companion.raffle import algorithm, services
from companion.raffle.models import Raffle, RaffleEntry, RaffleWinner
from tests.concurrency import run_at_once
from tests.raffle.factories import DRAW_AT, FREEZE_AT, PARIS, hunt_station, make_completers, make_raffle


def _audited(db, action: str) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _winners(db, raffle_id: int) -> list[tuple[int, int, str]]:
    db.expire_all()
    return [tuple(row) for row in db.execute(select(RaffleWinner.k, RaffleWinner.entry_id, RaffleWinner.status)
                                             .where(RaffleWinner.raffle_id == raffle_id).order_by(RaffleWinner.k))]


def test_freeze_pressed_twenty_times_at_once_freezes_once(app, db, conference):
    people = make_completers(8, station=hunt_station(), prefix="fan")
    raffle_id = make_raffle().id

    def press(i: int) -> int | str:
        raffle = _db.session.get(Raffle, raffle_id)
        try:
            return services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(100 + i))
        except services.RaffleError as refused:
            return refused.reason

    results = run_at_once(app, 20, press)

    assert sorted(results, key=str) == [8] + ["frozen"] * 19
    db.expire_all()
    raffle = db.get(Raffle, raffle_id)
    entries = db.scalars(select(RaffleEntry).where(RaffleEntry.raffle_id == raffle_id)
                         .order_by(RaffleEntry.entry_code)).all()
    assert sorted(e.user_id for e in entries) == sorted(user.id for user in people)
    assert raffle.list_hash == algorithm.list_hash([e.entry_code for e in entries])
    assert raffle.commitment == algorithm.commitment(bytes.fromhex(raffle.seed))
    assert (raffle.frozen_at, _audited(db, "raffle.freeze")) == (FREEZE_AT, 1)


def test_draw_pressed_twenty_times_at_once_draws_once(app, db, conference):
    make_completers(10, station=hunt_station(), prefix="fan")
    raffle = make_raffle(winners_wanted=3)
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    db.commit()
    raffle_id = raffle.id

    def press(i: int) -> list[int] | str:
        raffle = _db.session.get(Raffle, raffle_id)
        try:
            return [w.k for w in services.draw(raffle, actor=None, now=DRAW_AT + timedelta(milliseconds=i),
                                                zone=PARIS, card_url="/hunt")]
        except services.RaffleError as refused:
            return refused.reason

    results = run_at_once(app, 20, press)

    drawn = [result for result in results if result != "drawn"]
    assert (len(drawn), results.count("drawn")) == (1, 19)
    winners = _winners(db, raffle_id)
    assert [(k, status) for k, _, status in winners] == [(k, "drawn") for k in drawn[0]]
    assert len({entry for _, entry, _ in winners}) == 3
    stored = db.get(Raffle, raffle_id)
    assert (stored.next_k, _audited(db, "raffle.draw")) == (drawn[0][-1] + 1, 1)
    assert stored.drawn_at in {DRAW_AT + timedelta(milliseconds=i) for i in range(20)}


def test_redraw_pressed_ten_times_at_once_draws_one_replacement(app, db, conference):
    make_completers(10, station=hunt_station(), prefix="fan")
    raffle = make_raffle(winners_wanted=2)
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(1))
    first, kept = services.draw(raffle, actor=None, now=DRAW_AT, zone=PARIS, card_url="/hunt")
    services.mark(first, "not_claimed", actor=None, now=first.claim_by, zone=PARIS)
    db.commit()
    raffle_id, again = raffle.id, first.claim_by + timedelta(minutes=1)
    before = _winners(db, raffle_id)

    def press(_: int) -> list[int] | str:
        raffle = _db.session.get(Raffle, raffle_id)
        try:
            return [w.k for w in services.redraw(raffle, actor=None, now=again, zone=PARIS, card_url="/hunt")]
        except services.RaffleError as refused:
            return refused.reason

    results = run_at_once(app, 10, press)

    replaced = [result for result in results if isinstance(result, list)]
    refusals = sorted(result for result in results if isinstance(result, str))
    assert len(replaced) == 1 and len(replaced[0]) == 1
    # A press that read the raffle before the winner committed loses the conditional update
    # ("redrawn"); one that read it after finds every prize held ("no_place").
    assert len(refusals) == 9 and set(refusals) <= {"redrawn", "no_place"}
    [new_k] = replaced[0]
    winners = _winners(db, raffle_id)
    assert winners[:2] == before
    assert [(k, status) for k, _, status in winners[2:]] == [(new_k, "drawn")]
    assert winners[2][1] not in {entry for _, entry, _ in before}
    assert (db.get(Raffle, raffle_id).next_k, _audited(db, "raffle.redraw")) == (new_k + 1, 1)
    assert (first.k, kept.k) == (before[0][0], before[1][0])
