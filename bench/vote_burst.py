"""Benchmark: a burst of poster votes over HTTP (``PUT /api/v1/votes/<category>``) against the health check.

The issue: 2,000 distinct attendees vote through HTTP at 64 concurrent connections against gunicorn
on PostgreSQL. Goals: zero lost, zero doubled, votes/s >= 0.5 x the baseline's requests/s from the
same run, p99 under 250 ms.

Set-up (untimed): a fresh database (a scratch PostgreSQL database, or a SQLite file), migrated with
``flask_migrate.upgrade()``; a conference in Europe/Paris; ``--attendees`` users with Attendee rows
(inserted in bulk) and one extra probe attendee; ``--posters`` posters made by
``services.add_poster``, each in both categories "Best poster" and "People's choice"; voting opened
with ``services.open_now``. Every attendee gets a session cookie and a CSRF token minted with the
server's secret key, as in ``bench/stamps.py`` (whose helpers this reuses).

The votes: every attendee votes once in "Best poster" for a poster drawn with a fixed seed;
``--revotes`` of them (10 %) then move their vote to another poster (the ``ON CONFLICT DO UPDATE``
path). The first votes are shuffled; each move is put at a random later place and is sent only once
its attendee's first vote has been answered, so each attendee's last vote is well defined. Each is
a PUT with ``{"poster": "<code>"}``, the cookie and ``X-CSRFToken``; every one must answer 200 with
its poster and ``counted: true``.

The server is gunicorn on 127.0.0.1 with production settings (``--workers`` sync workers, or
gthread with ``--threads``); the client is one asyncio aiohttp process with ``--connections``
connections (each one request at a time). Timed, in this order: the baseline (``GET
/api/v1/health``), the votes, the baseline again (the baseline is the mean of both), each the same
number of requests. Afterwards the database must hold exactly one "Best poster" ballot per
attendee, for the poster of the last vote it sent, with ``changes`` equal to its moves, and no
"People's choice" ballot; ``queries.tally`` must give each poster exactly the number of attendees
whose last vote was for it. Exit status 1 only if something functionally failed. Run from the
repository root::

    .venv/bin/python bench/vote_burst.py [--database postgresql|sqlite] [--attendees 2000] [--posters 36] [--connections 64] [--workers 2] [--threads 0] [--revotes 0.10]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402
from schedule_read import Failure, server_log_report, stop, wait_for_health  # noqa: E402
from stamps import USER_AGENT, Person, one_request, person_headers, process_cpu, workers_cpu  # noqa: E402

PUBLIC_URL = "https://conference.example.org"
ZONE = "Europe/Paris"
SEED = 2026
HEALTH_PATH = "/api/v1/health"
VOTES_PATH = "/api/v1/votes"
BEST, PEOPLE = "Best poster", "People's choice"
WARMUP = 300
TIMEOUT_SECONDS = 60.0
GOAL_RATIO, GOAL_P99_MS = 0.5, 250.0


@dataclass
class Vote:
    """One PUT to send: who, for which poster, and which earlier vote of theirs it must follow."""

    person: int
    poster: int
    after: int | None = None  # index (in the sequence) of this attendee's previous vote


@dataclass
class Outcome:
    index: int
    status: int | str = 0
    body: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Run:
    label: str
    seconds: float
    outcomes: list[Outcome]
    client_cpu: float
    server_cpu: float | None
    database_cpu: float | None = None  # PostgreSQL's processes on this machine; None for SQLite (in the workers)

    @property
    def requests(self) -> int:
        return len(self.outcomes)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def statuses(self) -> collections.Counter:
        return collections.Counter(str(o.status) for o in self.outcomes)

    def percentile(self, q: float) -> float:
        ordered = sorted(o.seconds for o in self.outcomes)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    @property
    def max_ms(self) -> float:
        return max(o.seconds for o in self.outcomes) * 1000


@dataclass
class World:
    people: list[Person]
    probe: Person
    best: str  # category codes
    people_choice: str
    posters: list[str]  # poster codes, by board


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--attendees", type=int, default=2000, help="attendees voting (default 2,000)")
    parser.add_argument("--posters", type=int, default=36, help="posters, each in both categories (default 36)")
    parser.add_argument("--connections", type=int, default=64, help="client connections (default 64)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=0,
                        help="gthread workers with this many threads (default 0: sync workers)")
    parser.add_argument("--revotes", type=float, default=0.10,
                        help="share of the attendees who then move their vote (default 0.10)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if args.posters < 2:
        parser.error("--posters must be at least 2 (a moved vote goes to another poster)")

    header(args)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-votes-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        secret_key = secrets.token_hex(32)
        try:
            with _support.scratch_database(args.database, instance) as database_url:
                status = run(args, instance, database_url, secret_key)
        except Failure as failure:
            print(f"\nFAILED: {failure}")
            status = 1
    print(f"load:     {_support.load_average()} (1/5/15 min load average after the run); "
          f"whole run {time.perf_counter() - started:.0f} s")
    return status


def header(args: argparse.Namespace) -> None:
    from importlib.metadata import version

    print(f"reproduce: {_support.reproduce_line()}")
    for line in _support.machine_lines(args.database):
        print(line)
    kind = f"gthread workers x {args.threads} threads" if args.threads else "sync workers"
    print(f"server:   gunicorn {version('gunicorn')} -w {args.workers} ({kind}), 127.0.0.1, production settings")
    print(f"client:   aiohttp {version('aiohttp')}, one asyncio process, {args.connections} connections, "
          f"one request at a time on each; the same client for the baseline and the votes")
    print(f"cores:    {_support.cpu_count()} shared by the client, gunicorn"
          f"{' and PostgreSQL' if args.database == 'postgresql' else ''}; nothing is pinned")
    print()


# --- Set-up ---------------------------------------------------------------------------------


def _app(instance: Path, database_url: str, secret_key: str):  # noqa: ANN202 - a Flask app
    from companion import create_app

    return create_app({"ENV": "production", "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": secret_key,
                       "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING"})


def set_up(args: argparse.Namespace, instance: Path, database_url: str, secret_key: str) -> World:
    """Migrate; add the conference, the attendees (and a probe), the posters; open voting."""
    from flask_migrate import upgrade
    from itsdangerous import URLSafeTimedSerializer
    from sqlalchemy import func, insert, select

    from companion import timeutil
    from companion.accounts.models import Attendee, User
    from companion.extensions import db
    from companion.schedule.models import Conference
    from companion.voting import queries, services

    app = _app(instance, database_url, secret_key)
    now = timeutil.now()
    count = args.attendees + 1  # the last one is the probe
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines
            upgrade()
        today = now.date()
        db.session.add(Conference(title="Bench Conference", acronym="bench", timezone=ZONE, start_date=today,
                                  end_date=today, schedule_version=1, updated_at=now))
        db.session.execute(insert(User), [
            {"email": f"bench-{i}@example.org", "name": f"Bench Attendee {i}", "session_version": 1,
             "created_at": now} for i in range(count)])
        ids = dict(db.session.execute(select(User.email, User.id)).all())
        user_ids = [ids[f"bench-{i}@example.org"] for i in range(count)]
        db.session.execute(insert(Attendee), [
            {"user_id": user_id, "registration_id": f"BENCH-{i:05d}", "company": "Bench Corp",
             "ticket_type": "Conference", "badge_token": secrets.token_urlsafe(16), "consent_share_contact": False,
             "created_at": now, "updated_at": now} for i, user_id in enumerate(user_ids)])
        rng = random.Random(args.seed)
        for number in range(1, args.posters + 1):
            services.add_poster(services.PosterFields(
                board=f"P{number}", title=f"Poster {number}: measuring things", authors=f"Author {number} et al.",
                abstract=None, categories=(BEST, PEOPLE)), now=now, rng=rng)
        services.open_now(actor=None, now=now)
        db.session.commit()
        categories = {c.name: c.code for c in queries.categories()}
        posters = [p.code for p in queries.posters()]
        in_both = {c.code: len(queries.posters(c)) for c in queries.categories()}
        attendees = db.session.scalar(select(func.count()).select_from(Attendee))
        db.session.remove()
        db.engine.dispose()
    if attendees != count or len(posters) != args.posters or set(categories) != {BEST, PEOPLE} \
            or set(in_both.values()) != {args.posters}:
        raise Failure(f"set-up made {attendees} attendees, {len(posters)} posters, categories {in_both}; expected "
                      f"{count}, {args.posters} and {args.posters} posters in each of {BEST!r} and {PEOPLE!r}")

    # What a sign-in and a page load leave in the session cookie (as bench/stamps.py mints them).
    signer = app.session_interface.get_signing_serializer(app)
    csrf_signer = URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token")
    agent_id = hashlib.sha512(USER_AGENT.encode()).hexdigest()
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    people = []
    for user_id in user_ids:
        raw = hashlib.sha1(os.urandom(64)).hexdigest()
        cookie = signer.dumps({"_user_id": f"{user_id}:1", "_fresh": True, "_id": agent_id, "csrf_token": raw})
        people.append(Person(user_id, f"{cookie_name}={cookie}", csrf_signer.dumps(raw)))
    print(f"set-up:   {args.attendees:,} attendees (+1 probe), {args.posters} posters each in {BEST!r} "
          f"({categories[BEST]}) and {PEOPLE!r} ({categories[PEOPLE]}), voting open; session cookies and CSRF "
          f"tokens minted with the server's secret key")
    return World(people[:-1], people[-1], categories[BEST], categories[PEOPLE], posters)


def plan(attendees: int, posters: int, share: float, seed: int) -> list[Vote]:
    """Every attendee's first vote, shuffled, and the moves of ``share`` of them, each at a random
    place after that attendee's first vote (so it follows it: see ``drive``)."""
    rng = random.Random(seed)
    sequence = [Vote(person, rng.randrange(posters)) for person in range(attendees)]
    rng.shuffle(sequence)
    movers = rng.sample(range(attendees), round(attendees * share))
    for person in movers:
        first = next(i for i, v in enumerate(sequence) if v.person == person)
        other = rng.choice([p for p in range(posters) if p != sequence[first].poster])
        sequence.insert(rng.randint(first + 1, len(sequence)), Vote(person, other))
    previous: dict[int, int] = {}
    for index, vote in enumerate(sequence):
        vote.after = previous.get(vote.person)
        previous[vote.person] = index
    return sequence


# --- Requests -------------------------------------------------------------------------------


def probe(port: int, world: World) -> None:
    """Check the minted session and CSRF token work, and that nothing is recorded by the checks."""
    person = world.probe
    path = f"{VOTES_PATH}/{world.best}"
    status, body = one_request(port, "PUT", path, person_headers(person, csrf=False), {"poster": world.posters[0]})
    if status != 400:
        raise Failure(f"a vote without the CSRF header answered {status}, expected 400: {body}")
    status, body = one_request(port, "PUT", path, person_headers(person), {"poster": "NOPE00"})
    if status != 404:
        raise Failure(f"a vote for an unknown poster with the minted session answered {status}, expected 404 "
                      f"(401: the session cookie, 400: the CSRF token is not accepted): {body}")
    status, body = one_request(port, "GET", VOTES_PATH, person_headers(person, csrf=False))
    if status != 200 or body != {"open": True, "votes": {}}:
        raise Failure(f"the probe's GET {VOTES_PATH} answered {status}: {body} (expected open, no votes)")
    print(f"probe:    no CSRF header -> 400; minted session + CSRF header, unknown poster -> 404; "
          f"GET {VOTES_PATH} -> 200 open, no votes")


def drive(port: int, connections: int, count: int, make_request, after=lambda i: None) -> tuple[float, float, list[Outcome]]:  # noqa: ANN001
    """Send ``count`` requests through ``connections`` connections, each one at a time, in order.

    ``make_request(i)`` gives (method, path, headers, json body or None). Request ``i`` waits until
    request ``after(i)`` (an earlier one, or None) has been answered; its latency is counted from
    when it is sent. :return: wall seconds, client CPU seconds, the outcomes by index.
    """
    import aiohttp

    outcomes = [Outcome(i) for i in range(count)]

    async def go() -> float:
        done = [asyncio.Event() for _ in range(count)]
        connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}", connector=connector,
                                         cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) as session:
            next_index = iter(range(count))

            async def connection() -> None:
                for i in next_index:
                    previous = after(i)
                    if previous is not None:
                        await done[previous].wait()
                    method, path, headers, body = make_request(i)
                    outcome = outcomes[i]
                    started = time.perf_counter()
                    try:
                        async with session.request(method, path, headers=headers, json=body) as response:
                            raw = await response.read()
                            outcome.status = response.status
                    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                        outcome.status, raw = type(exc).__name__, b""
                    outcome.seconds = time.perf_counter() - started
                    done[i].set()
                    try:
                        outcome.body = json.loads(raw) if raw else {}
                    except ValueError:
                        outcome.body = {"raw": raw[:300].decode(errors="replace")}

            started = time.perf_counter()
            await asyncio.gather(*(connection() for _ in range(connections)))
            return time.perf_counter() - started

    cpu = time.process_time()
    seconds = asyncio.run(go())
    return seconds, time.process_time() - cpu, outcomes


def postgres_cpu() -> float | None:
    """CPU seconds used so far by every PostgreSQL process on this machine (Linux /proc), None if none is seen.

    The server, its backends and its background writers: what the database costs the shared cores.
    A backend that exits during a timed run takes its CPU with it; the app's pooled connections stay.
    """
    values = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                values.append(process_cpu(int(entry.name)))
        except OSError:  # the process ended while we looked
            continue
    return sum(v for v in values if v is not None) if values else None


def timed(label: str, master: int, port: int, connections: int, count: int, make_request,  # noqa: ANN001
          after=lambda i: None, database: str = "postgresql") -> Run:  # noqa: ANN001
    measure_database = postgres_cpu if database == "postgresql" else lambda: None
    before, database_before = workers_cpu(master), measure_database()
    seconds, client_cpu, outcomes = drive(port, connections, count, make_request, after)
    later, database_later = workers_cpu(master), measure_database()
    return Run(label, seconds, outcomes, client_cpu, None if before is None or later is None else later - before,
               None if database_before is None or database_later is None else database_later - database_before)


def health_request(_: int) -> tuple:
    return "GET", HEALTH_PATH, {"User-Agent": USER_AGENT}, None


# --- The run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, instance: Path, database_url: str, secret_key: str) -> int:
    started = time.perf_counter()
    world = set_up(args, instance, database_url, secret_key)
    sequence = plan(len(world.people), len(world.posters), args.revotes, args.seed)
    moves = sum(1 for v in sequence if v.after is not None)
    print(f"plan:     {len(world.people):,} first votes in {BEST!r} + {moves:,} moves to another poster = "
          f"{len(sequence):,} PUTs, shuffled (a move waits for its attendee's first vote to be answered)")
    print(f"set-up took {time.perf_counter() - started:.1f} s")

    port = _support.free_port()
    log_path = instance.parent / "gunicorn.log"
    env = {**os.environ, "COMPANION_ENV": "production", "COMPANION_PUBLIC_URL": PUBLIC_URL,
           "COMPANION_SECRET_KEY": secret_key, "COMPANION_DATABASE_URL": database_url,
           "COMPANION_INSTANCE_PATH": str(instance), "COMPANION_LOG_LEVEL": "WARNING"}
    command = [str(_support.VENV_BIN / "gunicorn"), "-w", str(args.workers)]
    if args.threads:
        command += ["-k", "gthread", "--threads", str(args.threads)]
    command += ["-b", f"127.0.0.1:{port}", "companion:create_app()"]
    print(f"starting: {' '.join(command[:-1])} 'companion:create_app()'")
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=_support.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(server, port, log_path)
        probe(port, world)
        warm_up(port, args.connections, world)

        def vote_request(i: int) -> tuple:
            vote = sequence[i]
            return ("PUT", f"{VOTES_PATH}/{world.best}", person_headers(world.people[vote.person]),
                    {"poster": world.posters[vote.poster]})

        count = len(sequence)
        runs = []
        for label, make, after in (("baseline health (1)", health_request, lambda i: None),
                                   ("votes", vote_request, lambda i: sequence[i].after),
                                   ("baseline health (2)", health_request, lambda i: None)):
            print(f"timed:    {label}, {count:,} requests ...", flush=True)
            runs.append(timed(label, server.pid, port, args.connections, count, make, after, args.database))
        for result in (runs[0], runs[2]):
            if result.statuses != collections.Counter({"200": count}):
                raise Failure(f"{result.label}: answers {dict(result.statuses)}, expected {count:,} x 200")
    finally:
        stop(server)
    problems = check_answers(runs[1], sequence, world)
    problems += check_database(instance, database_url, secret_key, sequence, world)
    report(runs, len(world.people), moves, problems, args)
    status = server_log_report(log_path)
    return 1 if problems else status


def warm_up(port: int, connections: int, world: World) -> None:
    """Untimed: each worker's first requests (imports, database connections) and a voting read."""
    rng = random.Random(1)
    _, _, health = drive(port, connections, WARMUP, health_request)

    def mine(_: int) -> tuple:
        return "GET", VOTES_PATH, person_headers(rng.choice(world.people), csrf=False), None

    _, _, reads = drive(port, connections, WARMUP, mine)
    statuses = collections.Counter(str(o.status) for o in health + reads)
    if statuses != collections.Counter({"200": 2 * WARMUP}):
        raise Failure(f"warm-up answers {dict(statuses)}, expected {2 * WARMUP} x 200")
    print(f"warm-up:  {WARMUP} x {HEALTH_PATH} and {WARMUP} x GET {VOTES_PATH} (untimed), all 200")


# --- Checks -----------------------------------------------------------------------------------


def check_answers(run: Run, sequence: list[Vote], world: World) -> list[str]:
    """Every PUT answered 200 for its category and poster, counted."""
    odd = [o for o in run.outcomes if o.status != 200]
    wrong = [o for o in run.outcomes if o.status == 200 and (
        o.body.get("category") != world.best or o.body.get("poster") != world.posters[sequence[o.index].poster]
        or o.body.get("counted") is not True)]
    problems = []
    if odd:
        kinds = collections.Counter((str(o.status), str((o.body.get("errors") or [{}])[0].get("reason", o.body.get("title", ""))))
                                    for o in odd)
        problems.append(f"{len(odd):,} votes did not answer 200: {dict(kinds.most_common(5))}; first: {odd[0].body}")
    if wrong:
        problems.append(f"{len(wrong):,} votes answered 200 with another category, poster or counted: {wrong[0].body}")
    return problems


def check_database(instance: Path, database_url: str, secret_key: str, sequence: list[Vote], world: World) -> list[str]:
    """One Best-poster ballot per attendee, for its last vote, moved as often as it was moved; the
    tally per poster equals the attendees whose last vote was for it; no People's-choice ballot."""
    from sqlalchemy import func, select

    from companion.extensions import db
    from companion.voting import queries
    from companion.voting.models import Ballot, Poster

    last: dict[int, int] = {}
    moved: collections.Counter = collections.Counter()
    for vote in sequence:
        if vote.person in last and last[vote.person] != vote.poster:
            moved[vote.person] += 1
        last[vote.person] = vote.poster
    user_of = [p.user_id for p in world.people]
    expected = {user_of[person]: world.posters[poster] for person, poster in last.items()}
    expected_tally = collections.Counter(expected.values())

    app = _app(instance, database_url, secret_key)
    with app.app_context():
        best = queries.category_by_code(world.best)
        other = queries.category_by_code(world.people_choice)
        rows = db.session.execute(select(Ballot.user_id, Poster.code, Ballot.changes, Ballot.counted)
                                  .join(Poster, Poster.id == Ballot.poster_id)
                                  .where(Ballot.category_id == best.id)).all()
        doubled = db.session.scalar(select(func.count()).select_from(
            select(Ballot.user_id).group_by(Ballot.user_id, Ballot.category_id).having(func.count() > 1).subquery()))
        others = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.category_id == other.id))
        tally = queries.tally(best)
        tallied = {row.poster.code: row.votes for row in tally.rows}
        tally_total = tally.total
        other_total = queries.tally(other).total
        db.session.remove()
        db.engine.dispose()

    stored = {r.user_id: r.code for r in rows}
    lost = [u for u in expected if u not in stored]
    strangers = [u for u in stored if u not in expected]
    wrong_poster = [u for u in expected if u in stored and stored[u] != expected[u]]
    person_of = {user_id: i for i, user_id in enumerate(user_of)}
    wrong_changes = [r for r in rows if r.user_id in person_of and r.changes != moved[person_of[r.user_id]]]
    uncounted = sum(1 for r in rows if not r.counted)
    tally_wrong = {code: (tallied.get(code, 0), expected_tally.get(code, 0)) for code in world.posters
                   if tallied.get(code, 0) != expected_tally.get(code, 0)}
    print(f"database: {len(rows):,} '{BEST}' ballots (expected {len(expected):,}); lost {len(lost)}; doubled "
          f"{doubled}; for another poster than the last vote {len(wrong_poster)}; changes not equal to the moves "
          f"{len(wrong_changes)}; not counted {uncounted}; '{PEOPLE}' ballots {others}")
    print(f"tally:    queries.tally('{world.best}') total {tally_total:,}, {len(tally_wrong)} posters off their expected "
          f"count (min {min(expected_tally.values())}, max {max(expected_tally.values())} per poster); "
          f"'{world.people_choice}' total {other_total}")
    problems = []
    if len(rows) != len(expected):
        problems.append(f"{len(rows):,} ballots in the database, expected {len(expected):,}")
    for number, what in ((len(lost), "lost votes (attendees without a ballot)"), (doubled, "doubled ballots"),
                         (len(strangers), "ballots of people who did not vote"),
                         (len(wrong_poster), "ballots not for the attendee's last vote"),
                         (len(wrong_changes), "ballots whose changes differ from the moves sent"),
                         (uncounted, "attendee ballots marked not counted"), (others, f"'{PEOPLE}' ballots")):
        if number:
            problems.append(f"{number:,} {what}")
    if tally_total != len(expected) or tally_wrong or other_total:
        problems.append(f"the tally is off: total {tally_total} (expected {len(expected)}), posters "
                        f"(tallied, expected) {dict(list(tally_wrong.items())[:5])}, '{PEOPLE}' total {other_total}")
    return problems


# --- Report -----------------------------------------------------------------------------------


def report(runs: list[Run], attendees: int, moves: int, problems: list[str], args: argparse.Namespace) -> None:
    first, votes, second = runs
    baseline = (first.rate + second.rate) / 2
    print()
    print(f"{'run':<40} {'requests':>8} {'seconds':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'client CPU/req':>15} {'workers CPU/req':>16} {'database CPU/req':>17}")
    for result, shown in ((first, f"baseline GET {HEALTH_PATH} (1)"), (votes, f"PUT {VOTES_PATH}/<category>"),
                          (second, f"baseline GET {HEALTH_PATH} (2)")):
        server = "?" if result.server_cpu is None else f"{result.server_cpu / result.requests * 1e3:.2f} ms"
        database = "-" if result.database_cpu is None else f"{result.database_cpu / result.requests * 1e3:.2f} ms"
        print(f"{shown:<40} {result.requests:>8,} {result.seconds:>8.2f} {result.rate:>8,.0f} "
              f"{result.percentile(0.50):>8.1f} {result.percentile(0.99):>8.1f} {result.max_ms:>8.1f} "
              f"{result.client_cpu / result.requests * 1e3:>12.2f} ms {server:>16} {database:>17}")
    spread = abs(first.rate - second.rate) / baseline
    ratio = votes.rate / baseline
    p99 = votes.percentile(0.99)
    workers = f"{args.workers} x {args.threads} threads" if args.threads else f"{args.workers} sync workers"
    print()
    print(f"baseline:    {baseline:,.0f} requests/s (mean of the two health runs, which differ by {spread:.0%})")
    print(f"votes:       {votes.rate:,.0f} votes/s ({votes.requests:,} PUTs: {attendees:,} first votes + {moves:,} "
          f"moves, in {votes.seconds:.2f} s)")
    print(f"latency:     vote p50 {votes.percentile(0.50):.1f} ms, p99 {p99:.1f} ms, max {votes.max_ms:.1f} ms "
          f"(baseline p99 {first.percentile(0.99):.1f} / {second.percentile(0.99):.1f} ms); with "
          f"{args.connections} connections on {workers}, most of it is waiting for a free worker")
    budget = cpu_budget(first, votes, second)
    if budget:
        print(budget)
    if spread > 0.10:
        print("note:        the two baseline runs differ by more than 10%: the machine's load changed during the "
              "run; treat the ratio as rough")
    met = lambda ok: "met" if ok else "not met"  # noqa: E731
    print(f"goals:       zero lost and zero doubled: {met(not problems)}; votes/s / baseline = {ratio:.2f} "
          f"(goal >= {GOAL_RATIO}): {met(ratio >= GOAL_RATIO)}; p99 {p99:.1f} ms (goal < {GOAL_P99_MS:.0f} ms): "
          f"{met(p99 < GOAL_P99_MS)}")
    for problem in problems:
        print(f"FAILED:      {problem}")


def cpu_budget(first: Run, votes: Run, second: Run) -> str | None:
    """Where the shared cores' time goes per request, and what the goal leaves the workers.

    Client, workers and PostgreSQL share the same cores, so with every core busy the rates stand in
    inverse proportion to the total CPU per request. Keeping the vote's client and database CPU as
    measured, the ratio goal leaves the workers a budget per vote, printed beside what a health check
    and a vote cost them: a budget near the health check's own cost is out of reach of any change to
    the app's code on this bench and machine.
    """
    runs = (first, votes, second)
    if any(r.server_cpu is None for r in runs) or any(r.database_cpu is None for r in runs):
        return None
    per = lambda r, cpu: cpu / r.requests * 1e3  # noqa: E731 - ms per request
    health_client = (per(first, first.client_cpu) + per(second, second.client_cpu)) / 2
    health_workers = (per(first, first.server_cpu) + per(second, second.server_cpu)) / 2
    health_database = (per(first, first.database_cpu) + per(second, second.database_cpu)) / 2
    health = health_client + health_workers + health_database
    client, workers, database = per(votes, votes.client_cpu), per(votes, votes.server_cpu), per(votes, votes.database_cpu)
    total = client + workers + database
    budget = health / GOAL_RATIO - client - database
    return (f"CPU budget:  a health check costs {health:.2f} ms (client {health_client:.2f} + workers "
            f"{health_workers:.2f} + PostgreSQL {health_database:.2f}); a vote {total:.2f} ms (client {client:.2f} + "
            f"workers {workers:.2f} + PostgreSQL {database:.2f}): ratio by CPU {health / total:.2f}. For "
            f"{GOAL_RATIO} the workers could spend at most {budget:.2f} ms on a vote (they spend {workers:.2f}; "
            f"a health check costs them {health_workers:.2f})")


if __name__ == "__main__":
    sys.exit(main())
