"""Benchmark: a person's calendar feed (``GET /ical/<token>.ics``) against the health check, and the
full-schedule .ics render time.

Loads the 1,000-session / 400-speaker conference of ``schedule_read.py`` into a fresh database, adds
an attendee with 40 starred sessions, a calendar feed and a 10-minute reminder, and then:

1. in this process, times ``render_export("ics")`` (database read + render of the whole schedule)
   several times and prints the best and the median, split into reading and rendering (goal: under
   200 ms), the 40-star feed's render for information, and counts the queries a cached feed poll costs;
2. starts gunicorn on 127.0.0.1 (production settings) and runs ``wrk`` against, interleaved:
   ``/api/v1/health`` (baseline), the feed answered 200 with gzip, the feed with ``If-None-Match``
   answered 304, the baseline again, and for information the cached full-schedule
   ``/schedule/export/schedule.ics``, ``--rounds`` times (the baseline is the mean of all its runs);
   it also times single requests of the full export as served (each worker's first, which
   renders, and cached ones).

Goal: feed 200 >= 0.80 x baseline. The feed's rate limit (60 per minute per address and feed) would
answer wrk with 429s, so the server runs with ``COMPANION_FEED_RATE_LIMIT`` raised: the limiter
still counts every request, so its cost is in the figures. Exit status 1 only if something
functionally failed, 2 if ``wrk`` is missing. Run from the repository root::

    .venv/bin/python bench/feeds.py [--database sqlite|postgresql] [--duration 5] [--rounds 2] [--connections 16] [--workers 2] [--renders 7]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402
import schedule_read  # noqa: E402
from schedule_read import Failure, WrkResult, mean_result, request, stop, wait_for_health, wrk_run  # noqa: E402

PUBLIC_URL = "https://conference.example.org"
STARS = 40
GOALS = {"feed 200 gzip": 0.80}
RENDER_GOAL_MS = 200.0
WARMUP_SECONDS = 1
BENCH_FEED_RATE_LIMIT = "100000000 per minute"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--renders", type=int, default=7, help="in-process renders of the full .ics (default 7)")
    parser.add_argument("--rounds", type=int, default=2, help="repeat the interleaved wrk sequence and average (default 2)")
    args = parser.parse_args()

    wrk = _support.load_test_header(args.database, args.workers, args.connections, args.duration)
    if wrk is None:
        return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-feeds-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        secret_key = secrets.token_hex(32)
        with _support.scratch_database(args.database, instance) as database_url:
            try:
                status = run(args, wrk, instance, database_url, secret_key)
            except Failure as failure:
                print(f"\nFAILED: {failure}")
                status = 1
    print(f"load:     {_support.load_average()} (1/5/15 min load average after the run); "
          f"whole run {time.perf_counter() - started:.0f} s")
    return status


def _app(instance: Path, database_url: str, secret_key: str):  # noqa: ANN202 - a Flask app
    from companion import create_app

    return create_app({"ENV": "production", "PUBLIC_URL": PUBLIC_URL, "SECRET_KEY": secret_key,
                       "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)})


def add_attendee(instance: Path, database_url: str, secret_key: str) -> str:
    """An attendee with 40 random stars, a feed and a 10-minute reminder; returns the feed's path."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from companion.accounts.models import Attendee, User
    from companion.agenda import services
    from companion.extensions import db
    from companion.schedule.models import Session

    app = _app(instance, database_url, secret_key)
    now = datetime.now(UTC)
    with app.app_context():
        user = User(email="bench@example.org", name="Bench Attendee", session_version=1, created_at=now)
        db.session.add(user)
        db.session.flush()
        db.session.add(Attendee(user_id=user.id, registration_id="BENCH-1", badge_token=secrets.token_urlsafe(16),
                                created_at=now, updated_at=now))
        sessions = db.session.scalars(select(Session).order_by(Session.id)).all()
        for session in random.Random(schedule_read.SEED).sample(list(sessions), STARS):
            services.star(user, session, now=now)
        feed = services.calendar_feed(user, now=now)
        services.set_alarm(user, 10, now=now)
        db.session.commit()
        path = f"/ical/{feed.token}.ics"
        db.session.remove()
        db.engine.dispose()
    print(f"attendee: {STARS} stars, a feed with a 10-minute reminder")
    return path


def time_renders(instance: Path, database_url: str, secret_key: str, feed_path: str, renders: int) -> dict[str, float]:
    """In-process: the full .ics render (best and median), the feed's render, queries per cached poll."""
    from sqlalchemy import event

    from companion.agenda import feeds
    from companion.extensions import db
    from companion.schedule import queries
    from companion.schedule.exporters import ical, load_export_data, render_export

    app = _app(instance, database_url, secret_key)
    totals, reads, writes = [], [], []
    with app.app_context():
        for _ in range(renders):
            db.session.remove()  # a fresh session each time: nothing loaded yet, as in a new worker
            started = time.perf_counter()
            body = render_export("ics")
            totals.append(time.perf_counter() - started)
            db.session.remove()
            started = time.perf_counter()
            data = load_export_data()
            read = time.perf_counter()
            ical.render(data)
            reads.append(read - started)
            writes.append(time.perf_counter() - read)
        if body.count(b"BEGIN:VEVENT") != 1000:
            raise Failure(f"the full .ics holds {body.count(b'BEGIN:VEVENT')} events, expected 1,000")
        token = feed_path.removeprefix("/ical/").removesuffix(".ics")
        owner = feeds.find_feed(token)
        from companion.accounts.models import User
        from companion.agenda.queries import starred_sessions

        sessions = starred_sessions(db.session.get(User, owner.user_id))
        conference = queries.get_conference()
        feed_times = []
        for _ in range(renders):
            started = time.perf_counter()
            feeds.render_feed(sessions, conference, queries.conference_zone(conference), 10, lambda s: s.code,
                              uid=feeds.feed_uid(token))
            feed_times.append(time.perf_counter() - started)
        db.session.remove()

    client = app.test_client()
    client.get(feed_path)  # render and cache
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        time.sleep(1.1)  # past SCHEDULE_CACHE_SECONDS: the poll re-reads the schedule version too
        status = client.get(feed_path).status_code
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    if status != 200:
        raise Failure(f"in-process feed poll answered {status}")
    ms = lambda xs: (min(xs) * 1000, statistics.median(xs) * 1000)  # noqa: E731
    print(f"full .ics, render_export('ics') in-process, {renders} renders of 1,000 sessions, {len(body):,} bytes:")
    print(f"  total (read + render)   best {ms(totals)[0]:7.1f} ms   median {ms(totals)[1]:7.1f} ms   "
          f"goal < {RENDER_GOAL_MS:.0f} ms: {'met' if ms(totals)[1] < RENDER_GOAL_MS else 'not met'} (median)")
    print(f"  database read           best {ms(reads)[0]:7.1f} ms   median {ms(reads)[1]:7.1f} ms")
    print(f"  iCalendar render        best {ms(writes)[0]:7.1f} ms   median {ms(writes)[1]:7.1f} ms")
    print(f"feed render ({STARS} sessions with alarms), best {ms(feed_times)[0]:.1f} ms, median {ms(feed_times)[1]:.1f} ms "
          f"(once per schedule version and star change)")
    tables = [match.group(1) for match in (re.search(r"\bFROM\s+(\w+)", s) for s in statements) if match]
    print(f"queries per cached feed poll: {len(statements)} (from {', '.join(tables)}; the schedule version "
          f"is read at most once a second per worker)")
    return {"median_ms": ms(totals)[1]}


def time_served_export(port: int, samples: int = 20) -> None:
    """Single requests of the full .ics as served: a worker's first (renders) and cached ones."""
    path = "/schedule/export/schedule.ics"
    firsts, cached = [], []
    for _ in range(4):  # with 2 workers, the first few requests reach both before they have it cached
        started = time.perf_counter()
        status, _, body = request(port, path, {"Accept-Encoding": "gzip"})
        firsts.append(time.perf_counter() - started)
        if status != 200:
            raise Failure(f"{path} answered {status}")
    for _ in range(samples):
        started = time.perf_counter()
        request(port, path, {"Accept-Encoding": "gzip"})
        cached.append(time.perf_counter() - started)
    print(f"full .ics served by gunicorn (gzip, {len(body):,} bytes): first requests "
          f"{', '.join(f'{t * 1000:.0f}' for t in firsts)} ms (each worker renders once); "
          f"cached median {statistics.median(cached) * 1000:.1f} ms over {samples}")


def check_feed(port: int, path: str) -> tuple[str, int, int]:
    """The feed answers 200 with 40 events (gzip too) and 304 to its ETag; returns (gzip ETag, sizes)."""
    status, headers, body = request(port, path, {"Accept-Encoding": "identity"})
    if status != 200 or body.count(b"BEGIN:VEVENT") != STARS or body.count(b"BEGIN:VALARM") != STARS:
        raise Failure(f"{path} answered {status} with {body.count(b'BEGIN:VEVENT')} events")
    if headers.get("cache-control") != "private, max-age=300" or not headers.get("last-modified"):
        raise Failure(f"feed headers: {headers}")
    status, gz_headers, gz_body = request(port, path, {"Accept-Encoding": "gzip"})
    if status != 200 or gz_headers.get("content-encoding") != "gzip":
        raise Failure(f"gzip feed answered {status}, Content-Encoding {gz_headers.get('content-encoding')!r}")
    etag = gz_headers["etag"]
    for sent in (etag, headers["etag"]):
        status, _, empty = request(port, path, {"Accept-Encoding": "gzip", "If-None-Match": sent})
        if status != 304 or empty:
            raise Failure(f"If-None-Match {sent} answered {status}")
    status, _, _ = request(port, path[:-4] + "x.ics")
    if status != 404:
        raise Failure(f"a made-up token answered {status}")
    return etag, len(body), len(gz_body)


def run(args: argparse.Namespace, wrk: str, instance: Path, database_url: str, secret_key: str) -> int:
    started = time.perf_counter()
    schedule_read.load_conference(instance, database_url, secret_key)
    feed_path = add_attendee(instance, database_url, secret_key)
    print(f"set-up took {time.perf_counter() - started:.1f} s")
    print()
    time_renders(instance, database_url, secret_key, feed_path, args.renders)
    print()

    port = _support.free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = instance.parent / "gunicorn.log"
    env = {**os.environ, "COMPANION_ENV": "production", "COMPANION_PUBLIC_URL": PUBLIC_URL,
           "COMPANION_SECRET_KEY": secret_key, "COMPANION_DATABASE_URL": database_url,
           "COMPANION_INSTANCE_PATH": str(instance), "COMPANION_LOG_LEVEL": "WARNING",
           "COMPANION_FEED_RATE_LIMIT": BENCH_FEED_RATE_LIMIT}
    command = [str(_support.VENV_BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "companion:create_app()"]
    print(f"starting: {' '.join(command[:-1])} 'companion:create_app()' (COMPANION_FEED_RATE_LIMIT='{BENCH_FEED_RATE_LIMIT}')")
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=_support.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(server, port, log_path)
        time_served_export(port)
        etag_gzip, identity, gzipped = check_feed(port, feed_path)
        print(f"feed:     {identity:,} bytes identity, {gzipped:,} bytes gzip; gzip ETag {etag_gzip}")
        print()
        runs = [
            ("baseline health (1)", f"{base}/api/v1/health", []),
            ("feed 200 gzip", f"{base}{feed_path}", []),
            ("feed 304", f"{base}{feed_path}", [f"If-None-Match: {etag_gzip}"]),
            ("baseline health (2)", f"{base}/api/v1/health", []),
            ("full .ics 200 gzip (cached)", f"{base}/schedule/export/schedule.ics", []),
        ]
        print(f"warming up each URL ({WARMUP_SECONDS} s each) ...")
        for label, url, headers in runs[:3] + runs[4:]:
            wrk_run(wrk, label, url, headers, WARMUP_SECONDS, args.connections)
        rounds: list[dict[str, WrkResult]] = []
        for number in range(1, args.rounds + 1):
            results: dict[str, WrkResult] = {}
            for label, url, headers in runs:
                print(f"wrk: {label} (round {number} of {args.rounds}) ...", flush=True)
                results[label] = wrk_run(wrk, label, url, headers, args.duration, args.connections)
            check_sizes(results, gzipped)
            rounds.append(results)
        check_feed(port, feed_path)  # still right after the load
    finally:
        stop(server)
    report(rounds)
    return schedule_read.server_log_report(log_path)


def check_sizes(results: dict[str, WrkResult], gzipped: int) -> None:
    """wrk cannot tell 200 from 304 (or 429): the bytes read per answer show what each run got."""
    for label, (low, high) in {"feed 200 gzip": (gzipped, gzipped + 2048), "feed 304": (0, 1024)}.items():
        got = results[label].bytes_per_response
        if not low * 0.99 <= got <= high * 1.01:
            raise Failure(f"{label}: {got:,.0f} bytes per answer, expected {low:,}..{high:,}")


def report(rounds: list[dict[str, WrkResult]]) -> None:
    """The table: each endpoint's mean over the rounds, with the ratio to the mean of all health runs."""
    print()
    print("per round, requests/s: " + "; ".join(
        f"{label}: " + ", ".join(f"{r[label].requests_per_s:,.0f}" for r in rounds) for label in rounds[0]))
    results = {label: mean_result(label, [r[label] for r in rounds]) for label in rounds[0]}
    baseline = mean_result("baseline", [results["baseline health (1)"], results["baseline health (2)"]]).requests_per_s
    print()
    print(f"{'endpoint':<36} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'B/answer':>9} {'ratio':>6}  goal")
    for label, result in results.items():
        ratio = result.requests_per_s / baseline
        goal = GOALS.get(label)
        goal_text = (f">= {goal:.2f} x baseline: {'met' if ratio >= goal else 'not met'}" if goal is not None
                     else "(baseline)" if label.startswith("baseline") else "(information)")
        shown = {"feed 200 gzip": "GET /ical/<token>.ics 200 gzip", "feed 304": "GET /ical/<token>.ics 304",
                 "full .ics 200 gzip (cached)": "GET /schedule/export/schedule.ics"}.get(label, "GET /api/v1/health")
        print(f"{shown:<36} {result.requests_per_s:>11,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
              f"{result.bytes_per_response:>9,.0f} {ratio:>6.2f}  {goal_text}")
    first, second = results["baseline health (1)"].requests_per_s, results["baseline health (2)"].requests_per_s
    spread = abs(first - second) / baseline
    print(f"baseline = mean of the health runs = {baseline:,.0f} requests/s (runs 1 and 2 differ by {spread:.0%})")
    if spread > 0.10:
        print("note: the two baseline runs differ by more than 10%: the machine's load changed during the run; "
              "treat the ratios as rough and run again on a quiet machine")


if __name__ == "__main__":
    sys.exit(main())
