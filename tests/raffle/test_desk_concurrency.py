"""Twenty staff members pressing the desk's "Draw" at the same moment, over HTTP: one draw."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from companion.accounts.models import AuditEvent
from companion.raffle import algorithm, queries, services
from companion.raffle.models import RaffleWinner
from tests.accounts.factories import csrf_from, make_user, sign_in
from tests.conftest import TEST_USER_AGENT
from tests.raffle.factories import FREEZE_AT, PARIS, hunt_station, make_completers, make_raffle

DRAW = datetime(2026, 4, 7, 13, 45, tzinfo=UTC)


def test_twenty_draw_requests_at_once_make_one_draw(app, db, conference, clock):
    make_completers(30, station=hunt_station())
    raffle = make_raffle(winners_wanted=3)
    services.freeze(raffle, actor=None, now=FREEZE_AT, zone=PARIS, rng=random.Random(9))
    db.commit()
    clock.set(DRAW)
    desk = f"/staff/raffles/{raffle.code}"
    clients = []
    for i in range(20):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
        sign_in(client, make_user(email=f"staff{i}@example.org", name=f"Staff {i}", role="staff"))
        with app.app_context():
            clients.append((client, csrf_from(client.get(desk).get_data(as_text=True))))
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def press(client, token) -> None:  # noqa: ANN001
        with app.app_context():
            barrier.wait(timeout=30)
            status = client.post(f"{desk}/draw", data={"csrf_token": token}).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=press, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    db.expire_all()
    assert sorted(statuses) == [303] + [409] * 19
    entries = [e.entry_code for e in queries.entries(raffle)]
    assert [(w.k, w.entry.entry_code) for w in db.scalars(select(RaffleWinner).order_by(RaffleWinner.k))] == \
        algorithm.draw(bytes.fromhex(raffle.seed), entries, 3)
    assert db.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "raffle.draw")) == 1
