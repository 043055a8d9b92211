"""Concurrency over HTTP: 2,000 distinct attendees voting at once through gunicorn (on the run's
database kind: SQLite, or PostgreSQL with COMPANION_TEST_DATABASE_URL) leave a tally equal to the
votes cast, and one attendee changing their vote 20 times at once ends with exactly one ballot.

The server is a real gunicorn (4 sync workers, production settings) on a database of its own; the
attendees' session cookies and CSRF tokens are minted with the server's secret key, as a sign-in
and a page load leave them (as bench/stamps.py and bench/vote_burst.py do). No timing is asserted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import collections
import contextlib
import hashlib
import io
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tests.conftest import _fresh_database

pytestmark = pytest.mark.slow

ATTENDEES = 2000
POSTERS = 36
CONNECTIONS = 64
CHANGES = 20
WORKERS = 4
BEST, PEOPLE = "Best poster", "People's choice"
PUBLIC_URL = "https://conference.example.org"
USER_AGENT = "companion-tests (vote burst)"


@dataclass(frozen=True)
class Person:
    user_id: int
    cookie: str
    csrf: str


@dataclass(frozen=True)
class VotingServer:
    port: int
    app: object  # a Flask app on the server's database, for the checks
    people: list[Person]  # ATTENDEES + 1: the last one changes their vote CHANGES times
    categories: dict[str, str]  # name -> code
    posters: list[str]  # codes, by board
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _set_up(app, count: int) -> tuple[list[int], dict[str, str], list[str]]:  # noqa: ANN001
    """Migrate; a conference, ``count`` attendees (in bulk), the posters in both categories; open voting."""
    from flask_migrate import upgrade

    from companion.accounts.models import Attendee, User
    from companion.extensions import db
    from companion.schedule.models import Conference
    from companion.voting import queries, services

    now = datetime.now(UTC)
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        db.session.add(Conference(title="Vote Burst", acronym="burst", timezone="Europe/Paris", start_date=now.date(),
                                  end_date=now.date(), schedule_version=1, updated_at=now))
        db.session.execute(insert(User), [{"email": f"voter-{i}@example.org", "name": f"Voter {i}",
                                           "session_version": 1, "created_at": now} for i in range(count)])
        ids = dict(db.session.execute(select(User.email, User.id)).all())
        user_ids = [ids[f"voter-{i}@example.org"] for i in range(count)]
        db.session.execute(insert(Attendee), [
            {"user_id": user_id, "registration_id": f"BURST-{i:05d}", "company": None, "ticket_type": "Conference",
             "badge_token": secrets.token_urlsafe(16), "consent_share_contact": False, "created_at": now,
             "updated_at": now} for i, user_id in enumerate(user_ids)])
        rng = random.Random(7)
        for number in range(1, POSTERS + 1):
            services.add_poster(services.PosterFields(f"P{number}", f"Poster {number}", "A. Author", None,
                                                      (BEST, PEOPLE)), now=now, rng=rng)
        # Opened a minute ago: the server's clock reads a later moment than this process's "now".
        services.open_now(actor=None, now=now - timedelta(minutes=1))
        db.session.commit()
        categories = {c.name: c.code for c in queries.categories()}
        posters = [p.code for p in queries.posters()]
        db.session.remove()
    return user_ids, categories, posters


def _mint(app, secret_key: str, user_ids: list[int]) -> list[Person]:  # noqa: ANN001
    """Session cookies and CSRF tokens as Flask-Login and Flask-WTF leave them after a sign-in."""
    from itsdangerous import URLSafeTimedSerializer

    signer = app.session_interface.get_signing_serializer(app)
    csrf_signer = URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")
    agent = hashlib.sha512(USER_AGENT.encode()).hexdigest()
    name = app.config["SESSION_COOKIE_NAME"]
    people = []
    for user_id in user_ids:
        raw = secrets.token_hex(20)
        cookie = signer.dumps({"_user_id": f"{user_id}:1", "_fresh": True, "_id": agent, "csrf_token": raw})
        people.append(Person(user_id, f"{name}={cookie}", csrf_signer.dumps(raw)))
    return people


def _wait_for_health(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within 60 s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def voting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VotingServer]:
    """gunicorn with production settings on a fresh database of the run's kind, voting open."""
    from companion import create_app
    from companion.extensions import db

    for database_url in _fresh_database(tmp_path_factory):  # a generator: the database is dropped after the loop
        instance = tmp_path_factory.mktemp("vote-burst-instance")
        secret_key = secrets.token_hex(32)
        app = create_app({"ENV": "production", "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": secret_key,
                          "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING"})
        user_ids, categories, posters = _set_up(app, ATTENDEES + 1)
        people = _mint(app, secret_key, user_ids)
        port = _free_port()
        log = instance / "gunicorn.log"
        env = {**os.environ, "COMPANION_ENV": "production", "COMPANION_PUBLIC_URL": PUBLIC_URL,
               "COMPANION_SECRET_KEY": secret_key, "COMPANION_DATABASE_URL": database_url,
               "COMPANION_INSTANCE_PATH": str(instance), "COMPANION_LOG_LEVEL": "WARNING"}
        gunicorn = Path(sys.executable).parent / "gunicorn"
        with log.open("wb") as out:
            server = subprocess.Popen([str(gunicorn), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
                                       "companion:create_app()"], cwd=Path(__file__).resolve().parents[2], env=env,
                                      stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for_health(server, port, log)
            yield VotingServer(port, app, people, categories, posters, log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        text = log.read_text(errors="replace")
        assert "Traceback" not in text and "[ERROR]" not in text, text[-5000:]


def _put_all(port: int, votes: list[tuple[Person, str, str]], connections: int) -> list[tuple[int, dict]]:
    """PUT every (person, category code, poster code) vote, ``connections`` at a time, all started at
    once; :return: (status, JSON body) per vote, in the order given."""
    import aiohttp

    answers: list[tuple[int, dict]] = [(0, {})] * len(votes)

    async def go() -> None:
        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}", connector=connector,
                                         cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=120)) as session:
            todo = iter(range(len(votes)))

            async def connection() -> None:
                for i in todo:
                    person, category, poster = votes[i]
                    headers = {"Cookie": person.cookie, "X-CSRFToken": person.csrf, "User-Agent": USER_AGENT,
                               "Accept": "application/json"}
                    async with session.put(f"/api/v1/votes/{category}", json={"poster": poster},
                                           headers=headers) as response:
                        raw = await response.read()
                        answers[i] = (response.status, json.loads(raw) if raw else {})

            await asyncio.gather(*(connection() for _ in range(min(connections, len(votes)))))

    # In a thread of its own: Playwright's sync API (the browser tests, earlier in the same run)
    # leaves an event loop running in this one, and asyncio.run() refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, go()).result()
    return answers


def _ballots(server: VotingServer) -> list[tuple[int, str, str, int, bool]]:
    """(user id, category code, poster code, changes, counted) of every ballot."""
    from companion.extensions import db
    from companion.voting.models import Ballot, Poster, VoteCategory

    with server.app.app_context():
        rows = db.session.execute(
            select(Ballot.user_id, VoteCategory.code, Poster.code, Ballot.changes, Ballot.counted)
            .join(VoteCategory, VoteCategory.id == Ballot.category_id).join(Poster, Poster.id == Ballot.poster_id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_two_thousand_attendees_voting_at_once_make_a_tally_equal_to_the_votes_cast(voting_server):
    server = voting_server
    best, people_choice = server.categories[BEST], server.categories[PEOPLE]
    rng = random.Random(2026)
    voters = server.people[:ATTENDEES]
    # Everyone votes for Best poster; every third attendee also for People's choice; all shuffled.
    votes = [(person, best, rng.choice(server.posters)) for person in voters]
    votes += [(person, people_choice, rng.choice(server.posters)) for person in voters[::3]]
    rng.shuffle(votes)

    answers = _put_all(server.port, votes, CONNECTIONS)

    statuses = collections.Counter(status for status, _ in answers)
    assert statuses == {200: len(votes)}, [body for status, body in answers if status != 200][:3]
    assert all((body["category"], body["poster"], body["counted"]) == (category, poster, True)
               for (_, category, poster), (_, body) in zip(votes, answers, strict=True))

    sent = {(person.user_id, category): poster for person, category, poster in votes}
    rows = [row for row in _ballots(server) if row[0] != server.people[-1].user_id]
    assert len(rows) == len(sent) == ATTENDEES + len(voters[::3])
    assert collections.Counter((user, category) for user, category, *_ in rows) == collections.Counter(sent.keys())
    assert {(user, category): poster for user, category, poster, _, _ in rows} == sent
    assert {(changes, counted) for *_, changes, counted in rows} == {(0, True)}

    from companion.voting import queries

    with server.app.app_context():
        tallies = {}
        for category in queries.categories():
            tally = queries.tally(category)
            tallies[category.code] = ({row.poster.code: row.votes for row in tally.rows if row.votes}, tally.total)
    for category in (best, people_choice):
        cast = collections.Counter(poster for (_, c), poster in sent.items() if c == category)
        assert tallies[category] == (dict(cast), sum(cast.values()))
    assert tallies[best][1] == ATTENDEES


def test_an_attendee_changing_their_vote_twenty_times_at_once_ends_with_one_ballot(voting_server):
    server = voting_server
    person = server.people[-1]  # votes in no other test
    best = server.categories[BEST]
    wanted = random.Random(20).sample(server.posters, CHANGES)  # twenty different posters

    answers = _put_all(server.port, [(person, best, poster) for poster in wanted], CHANGES)

    assert [status for status, _ in answers] == [200] * CHANGES, answers
    assert [body["poster"] for _, body in answers] == wanted
    mine = [row for row in _ballots(server) if row[0] == person.user_id]
    assert len(mine) == 1
    _, category, poster, changes, counted = mine[0]
    assert (category, counted) == (best, True)
    assert poster in wanted
    # Whatever order the database put them in, one write inserted and each of the 19 others met the
    # row (locked, latest version) holding another of the twenty posters: each moved it once.
    assert changes == CHANGES - 1
