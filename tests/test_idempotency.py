"""The Idempotency-Key header on state-changing API calls: the same key gets the same answer and
the action happens once, even sent ten times at once; a key reused for another request is a 422."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from companion.extensions import db as _db
from companion.hunt.models import Stamp
from companion.idempotency import store
from companion.idempotency.models import IdempotencyKey
from companion.voting.models import Ballot
from tests.accounts.factories import csrf_from, make_attendee, sign_in
from tests.conftest import TEST_USER_AGENT
from tests.factories import load_schedule
from tests.hunt.conftest import code_at
from tests.hunt.factories import make_station
from tests.voting.factories import OPENS, make_poster, open_voting

DURING = OPENS + timedelta(minutes=30)
KEY = "5f0c1a9e-3b7d-4c2e-9a61-0d8e2f4b7c13"
OTHER_KEY = "9b2d7e41-6c0a-4f3b-8e15-7a9c2d4e6f80"


def _client(app, user):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    sign_in(client, user)
    with app.app_context():
        token = csrf_from(client.get("/posters").get_data(as_text=True))
    return client, token


def _vote(client, token: str, poster_code: str, key: str | None = KEY, category: str = "best-poster"):
    headers = {"X-CSRFToken": token}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.put(f"/api/v1/votes/{category}", json={"poster": poster_code}, headers=headers)


def _ballots() -> list[tuple]:
    _db.session.expire_all()
    return [(b.user_id, b.poster_id, b.changes) for b in _db.session.scalars(select(Ballot).order_by(Ballot.id))]


def _keys() -> list[tuple]:
    _db.session.expire_all()
    return [(k.scope, k.key, k.status_code) for k in _db.session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.id))]


@pytest.fixture
def conference(db) -> None:
    """The small test conference: Europe/Paris, 7 and 8 April 2026."""
    load_schedule()


@pytest.fixture
def voting(db, conference, clock):
    posters = {"P1": make_poster("P1", "Faster kernels"), "P2": make_poster("P2", "Smaller models")}
    open_voting()
    clock.set(DURING)
    return posters


@pytest.fixture
def ada(db, conference):
    return make_attendee(email="ada@example.org", name="Ada Lovelace").user


def test_the_same_key_replays_the_first_answer_and_acts_once(app, voting, ada):
    client, token = _client(app, ada)
    p1, p2 = voting["P1"], voting["P2"]

    first = _vote(client, token, p1.code)
    moved = _vote(client, token, p2.code, key=OTHER_KEY)
    replayed = _vote(client, token, p1.code)  # the first vote, sent again by a queue that missed its answer

    assert (first.status_code, first.get_json()["message"], first.headers.get("Idempotent-Replayed")) == (
        200, "Your vote for Best poster: P1, Faster kernels.", None)
    assert (replayed.status_code, replayed.get_data(), replayed.mimetype, replayed.headers["Idempotent-Replayed"]) == (
        200, first.get_data(), "application/json", "true")
    assert moved.get_json()["poster"] == p2.code
    # Without the key, the replay would have moved the vote back to P1 (changes 2).
    assert _ballots() == [(ada.id, p2.id, 1)]
    assert _keys() == [(f"user:{ada.id}", KEY, 200), (f"user:{ada.id}", OTHER_KEY, 200)]


def test_a_key_reused_with_a_different_body_is_a_422_and_changes_nothing(app, voting, ada):
    client, token = _client(app, ada)
    first = _vote(client, token, voting["P1"].code)

    reused = _vote(client, token, voting["P2"].code)

    assert first.status_code == 200
    assert (reused.status_code, reused.mimetype, reused.get_json()) == (422, "application/problem+json", {
        "type": "about:blank", "title": "Idempotency-Key reused", "status": 422,
        "detail": "This Idempotency-Key was already used for a different request. Make a new key for each action.",
        "errors": [{"loc": ["header", "Idempotency-Key"], "msg": "reused"}]})
    assert _ballots() == [(ada.id, voting["P1"].id, 0)]


def test_a_key_reused_on_another_path_is_a_422(app, voting, ada):
    client, token = _client(app, ada)
    _vote(client, token, voting["P1"].code)

    other = client.put("/api/v1/agenda/NOPE", headers={"X-CSRFToken": token, "Idempotency-Key": KEY})

    assert (other.status_code, other.get_json()["title"]) == (422, "Idempotency-Key reused")


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_a_malformed_key_is_a_400_and_changes_nothing(app, voting, ada, key):
    client, token = _client(app, ada)

    response = client.put("/api/v1/votes/best-poster", json={"poster": voting["P1"].code},
                          headers={"X-CSRFToken": token, "Idempotency-Key": key.encode("utf-8").decode("latin-1")})

    assert (response.status_code, response.get_json()["errors"]) == (
        400, [{"loc": ["header", "Idempotency-Key"], "msg": "malformed"}])
    assert (_ballots(), _keys()) == ([], [])


def test_keys_belong_to_one_account(app, voting, ada):
    grace = make_attendee(email="grace@example.org", name="Grace Hopper").user
    ada_client, ada_token = _client(app, ada)
    grace_client, grace_token = _client(app, grace)

    mine = _vote(ada_client, ada_token, voting["P1"].code)
    theirs = _vote(grace_client, grace_token, voting["P2"].code)  # the same key, by someone else

    assert (mine.get_json()["poster"], theirs.get_json()["poster"]) == (voting["P1"].code, voting["P2"].code)
    assert "Idempotent-Replayed" not in theirs.headers
    assert _ballots() == [(ada.id, voting["P1"].id, 0), (grace.id, voting["P2"].id, 0)]


def test_a_refusal_is_kept_and_replayed(app, voting, ada, clock):
    client, token = _client(app, ada)
    clock.set(datetime(2026, 4, 7, 17, 0, 1, tzinfo=UTC))  # a second after the close

    refused = _vote(client, token, voting["P1"].code)
    open_voting(closes_at=None)  # staff reopen: the queued action still gets the answer it got
    replayed = _vote(client, token, voting["P1"].code)

    assert refused.status_code == 422
    assert (replayed.status_code, replayed.get_data()) == (422, refused.get_data())
    assert _ballots() == []


def test_answers_that_mean_it_did_not_run_are_not_kept(app, voting, ada):
    client, token = _client(app, ada)  # an attendee at the door's staff-only check-in API

    forbidden = client.post("/api/v1/check-ins", json={"token": "X" * 20},
                            headers={"X-CSRFToken": token, "Idempotency-Key": KEY})
    no_csrf = client.put("/api/v1/votes/best-poster", json={"poster": voting["P1"].code},
                         headers={"Idempotency-Key": OTHER_KEY})

    assert (forbidden.status_code, no_csrf.status_code) == (403, 400)
    assert _keys() == []


def test_without_the_header_nothing_is_kept(app, voting, ada):
    client, token = _client(app, ada)

    response = _vote(client, token, voting["P1"].code, key=None)

    assert response.status_code == 200
    assert _keys() == []


def test_an_expired_key_runs_again(app, voting, ada, clock):
    open_voting(closes_at=None)
    client, token = _client(app, ada)
    _vote(client, token, voting["P1"].code)
    _vote(client, token, voting["P2"].code, key=OTHER_KEY)
    clock.set(DURING + timedelta(hours=24))

    again = _vote(client, token, voting["P1"].code)

    assert "Idempotent-Replayed" not in again.headers
    assert _ballots() == [(ada.id, voting["P1"].id, 2)]


def test_a_request_still_running_is_waited_for_then_a_409(app, voting, ada, clock):
    client, token = _client(app, ada)
    _db.session.add(IdempotencyKey(scope=f"user:{ada.id}", key=KEY, owner="a" * 32, locked_at=DURING,
                                   expires_at=DURING + timedelta(hours=24),
                                   fingerprint=store.fingerprint("PUT", "/api/v1/votes/best-poster",
                                                                 f'{{"poster": "{voting["P1"].code}"}}'.encode())))
    _db.session.commit()
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.2
    try:
        waiting = client.put("/api/v1/votes/best-poster", data=f'{{"poster": "{voting["P1"].code}"}}',
                             content_type="application/json", headers={"X-CSRFToken": token, "Idempotency-Key": KEY})
        clock.set(DURING + timedelta(seconds=61))  # the first request's process died a minute ago
        taken_over = client.put("/api/v1/votes/best-poster", data=f'{{"poster": "{voting["P1"].code}"}}',
                                content_type="application/json",
                                headers={"X-CSRFToken": token, "Idempotency-Key": KEY})
    finally:
        app.config["IDEMPOTENCY_WAIT_SECONDS"] = 10

    assert (waiting.status_code, waiting.get_json()["detail"]) == (
        409, "A request with this Idempotency-Key is still being processed. Try again shortly.")
    assert taken_over.status_code == 200
    assert _ballots() == [(ada.id, voting["P1"].id, 0)]
    assert _keys() == [(f"user:{ada.id}", KEY, 200)]


def test_ten_requests_with_one_key_at_once_give_one_stamp_and_ten_identical_answers(app, db, conference, clock, ada):
    acme = make_station("Acme AI")
    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))
    code = code_at(acme, clock())
    clients = [_client(app, ada) for _ in range(10)]
    barrier = threading.Barrier(len(clients))
    answers: list[tuple[int, bytes, str | None]] = []
    lock = threading.Lock()

    def send(client, token) -> None:  # noqa: ANN001
        with app.app_context():
            barrier.wait(timeout=30)
            response = client.post("/api/v1/hunt/stamps", json={"code": code},
                                   headers={"X-CSRFToken": token, "Idempotency-Key": KEY})
        with lock:
            answers.append((response.status_code, response.get_data(), response.headers.get("Idempotent-Replayed")))

    threads = [threading.Thread(target=send, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Without the key, one 201 and nine 200 "already stamped" answers.
    assert {(status, body) for status, body, _ in answers} == {(201, answers[0][1])}
    assert len(answers) == 10
    assert sorted(str(replayed) for _, _, replayed in answers) == ["None"] + ["true"] * 9
    assert db.scalar(select(func.count()).select_from(Stamp)) == 1
    assert _keys() == [(f"user:{ada.id}", KEY, 201)]


def test_purge_deletes_only_expired_keys(app, db, conference):
    now = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)
    for key, expires in (("old", now - timedelta(seconds=1)), ("edge", now), ("fresh", now + timedelta(hours=1))):
        db.add(IdempotencyKey(scope="anonymous", key=key, owner="o" * 32, locked_at=now - timedelta(hours=24),
                              expires_at=expires, fingerprint="f" * 64))
    db.commit()

    with db.get_bind().connect() as connection:
        purged = store.purge_expired(connection, now=now)

    assert (purged, [k for _, k, _ in _keys()]) == (2, ["fresh"])


def test_the_fingerprint_tells_method_path_and_body_apart():
    prints = {store.fingerprint(*parts) for parts in (
        ("PUT", "/a", b"{}"), ("POST", "/a", b"{}"), ("PUT", "/a?x=1", b"{}"), ("PUT", "/a", b"{ }"),
        ("PUT", "/a{", b"}"))}
    assert len(prints) == 5


def test_an_action_queued_before_a_sign_out_is_refused_for_the_next_person(app, voting, ada, clock):
    """Sign-in and sign-out make a new CSRF token, so a queued action carrying Ada's token fails
    for Grace on the same phone (the queue shows the refusal) instead of voting in her name."""
    from companion.accounts import services as account_services

    grace = make_attendee(email="grace@example.org", name="Grace Hopper").user
    client, ada_token = _client(app, ada)
    signed_out = client.post("/sign-out", data={"csrf_token": ada_token})
    link = account_services.create_sign_in_link(grace, now=clock())
    _db.session.commit()
    page = client.get(f"/sign-in/{link}")
    signed_in = client.post(f"/sign-in/{link}", data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    grace_token = csrf_from(client.get("/posters").get_data(as_text=True))

    queued = _vote(client, ada_token, voting["P1"].code)

    assert (signed_out.status_code, signed_in.status_code) == (302, 302)
    assert grace_token != ada_token
    assert (queued.status_code, queued.get_json()["detail"]) == (400, "The CSRF tokens do not match.")
    assert (_ballots(), _keys()) == ([], [])


def _vote_body(poster_code: str) -> bytes:
    return f'{{"poster": "{poster_code}"}}'.encode()


def test_a_key_whose_action_committed_is_never_run_again_even_without_its_answer(app, voting, ada, clock):
    client, token = _client(app, ada)
    # The first request committed its action, then its process died before storing the answer.
    _db.session.add(IdempotencyKey(scope=f"user:{ada.id}", key=KEY, owner="a" * 32, locked_at=DURING,
                                   expires_at=DURING + timedelta(hours=24), committed_at=DURING,
                                   fingerprint=store.fingerprint("PUT", "/api/v1/votes/best-poster",
                                                                 _vote_body(voting["P1"].code))))
    _db.session.commit()
    clock.set(DURING + timedelta(minutes=5))
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.2
    try:
        again = client.put("/api/v1/votes/best-poster", data=_vote_body(voting["P1"].code),
                           content_type="application/json", headers={"X-CSRFToken": token, "Idempotency-Key": KEY})
    finally:
        app.config["IDEMPOTENCY_WAIT_SECONDS"] = 10

    assert again.status_code == 409
    assert (_ballots(), _keys()) == ([], [(f"user:{ada.id}", KEY, None)])


def test_a_request_whose_key_was_taken_over_cannot_commit_its_action(app, voting, ada, clock):
    from flask import g

    from companion.voting import services
    from companion.voting.models import Poster

    with app.test_request_context("/api/v1/votes/best-poster", method="PUT"):
        with _db.engine.connect() as connection:
            mine = store.reserve(connection, scope=f"user:{ada.id}", key=KEY, request_fingerprint="f" * 64,
                                 owner="a" * 32, now=DURING, ttl=timedelta(hours=24), stale_after=timedelta(seconds=60))
            taken = store.reserve(connection, scope=f"user:{ada.id}", key=KEY, request_fingerprint="f" * 64,
                                  owner="b" * 32, now=DURING + timedelta(seconds=61), ttl=timedelta(hours=24),
                                  stale_after=timedelta(seconds=60))
        g.idempotency = mine
        services.cast_vote(_db.session.get(type(ada), ada.id), _db.session.get(Poster, voting["P1"].id).code,
                           "best-poster", now=DURING, zone=ZoneInfo("Europe/Paris"))
        with pytest.raises(RuntimeError, match="taken over"):
            _db.session.commit()
        _db.session.rollback()

    assert (mine.outcome, taken.outcome) == ("run", "run")
    assert _ballots() == []


def test_the_header_is_ignored_without_a_route_or_a_signed_in_person(app, client, voting):
    nowhere = client.post("/api/v1/nowhere", headers={"Idempotency-Key": KEY})
    # The one state change open to anyone (no sign-in, no CSRF token): a push subscription's renewal.
    anonymous = client.post("/api/v1/push/subscriptions/renew", json={"old_endpoint": "https://push.example/x"},
                            headers={"Idempotency-Key": OTHER_KEY})

    assert nowhere.status_code == 404
    assert anonymous.status_code == 400  # the view ran (a signed-in 400 would be kept)
    assert _keys() == []
