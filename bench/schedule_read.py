"""Benchmark: reading the whole schedule (``GET /api/v1/schedule``) against the health check.

Loads a 1,000-session / 400-speaker conference (``generate_conference``, 4 days, 22 rooms) into a
fresh database, starts gunicorn on 127.0.0.1, and runs ``wrk`` against, in this order:

1. ``/api/v1/health``: the baseline (a trivial JSON view that does not touch the database);
2. ``/api/v1/schedule`` answered 200 with gzip (browsers send ``Accept-Encoding: gzip``);
3. ``/api/v1/schedule`` with ``If-None-Match`` of the ETag the client holds, answered 304;
4. ``/api/v1/health`` again (the baseline is the mean of runs 1 and 4);
5. ``/api/v1/schedule`` 200 without gzip, for information only.

It prints requests/s, p50/p99 latency and the ratio to the baseline, beside the goals
(200 >= 0.90 x baseline, 304 >= 0.95 x baseline). The goals are information, not assertions: the
exit status is 1 only if something functionally failed (a wrong status or body, non-2xx/3xx
answers during a run, the server not starting), 2 if ``wrk`` is missing.

Needs Debian's ``wrk`` (``apt-get install wrk``). Run from the repository root::

    .venv/bin/python bench/schedule_read.py [--database sqlite|postgresql] [--duration 10] [--connections 16] [--workers 2] [--rounds 1]

``--rounds N`` repeats the whole interleaved sequence N times and reports the means: use it when
the two baseline runs disagree (a busy machine), e.g. ``--rounds 3 --duration 5``.

``--database postgresql`` creates a database ``bench_<random>`` on the server of
postgresql://postgres@127.0.0.1:5432/test and drops it at the end.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

FIRST_DAY = date(2026, 10, 20)
SEED = 2026
GOALS = {"schedule 200 gzip": 0.90, "schedule 304": 0.95}
WARMUP_SECONDS = 2


class Failure(Exception):
    """Something functionally wrong: the run's figures cannot be trusted."""


@dataclass
class WrkResult:
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_read: float
    non_2xx_3xx: int
    socket_errors: str

    @property
    def bytes_per_response(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole interleaved sequence and average (default 1; on a busy machine "
                             "try --rounds 3 --duration 5)")
    args = parser.parse_args()

    wrk = _support.load_test_header(args.database, args.workers, args.connections, args.duration)
    if wrk is None:
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-schedule-read-") as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        secret_key = secrets.token_hex(32)
        with _support.scratch_database(args.database, instance) as database_url:
            try:
                return run(args, wrk, instance, database_url, secret_key)
            except Failure as failure:
                print(f"\nFAILED: {failure}")
                return 1


def run(args: argparse.Namespace, wrk: str, instance: Path, database_url: str, secret_key: str) -> int:
    started = time.perf_counter()
    load_conference(instance, database_url, secret_key)
    print(f"set-up took {time.perf_counter() - started:.1f} s")

    port = _support.free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = instance.parent / "gunicorn.log"
    env = {
        **os.environ,
        "COMPANION_ENV": "production",
        "COMPANION_PUBLIC_URL": "https://conference.example.org",
        "COMPANION_SECRET_KEY": secret_key,
        "COMPANION_DATABASE_URL": database_url,
        "COMPANION_INSTANCE_PATH": str(instance),
        "COMPANION_LOG_LEVEL": "WARNING",
    }
    command = [str(_support.VENV_BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "companion:create_app()"]
    print(f"starting: {' '.join(command[:-1])} 'companion:create_app()'")
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=_support.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(server, port, log_path)
        sizes, etag_gzip = check_endpoints(port)
        print(f"document: {sizes['identity']:,} bytes identity, {sizes['gzip']:,} bytes gzip "
              f"({sizes['gzip'] / sizes['identity']:.1%}); ETag {sizes['etag']}, gzip ETag {etag_gzip}")
        print()

        runs = [
            ("baseline health (1)", f"{base}/api/v1/health", []),
            ("schedule 200 gzip", f"{base}/api/v1/schedule", []),
            ("schedule 304", f"{base}/api/v1/schedule", [f"If-None-Match: {etag_gzip}"]),
            ("baseline health (2)", f"{base}/api/v1/health", []),
            ("schedule 200 identity", f"{base}/api/v1/schedule", ["Accept-Encoding: identity"]),
        ]
        print(f"warming up each URL ({WARMUP_SECONDS} s each) ...")
        for label, url, headers in runs:
            if not label.startswith("baseline health (2)"):
                wrk_run(wrk, label, url, headers, WARMUP_SECONDS, args.connections)
        rounds: list[dict[str, WrkResult]] = []
        for number in range(1, args.rounds + 1):
            results: dict[str, WrkResult] = {}
            for label, url, headers in runs:
                print(f"wrk: {label}" + (f" (round {number} of {args.rounds})" if args.rounds > 1 else "") + " ...", flush=True)
                results[label] = wrk_run(wrk, label, url, headers, args.duration, args.connections)
            check_sizes(results, sizes)
            rounds.append(results)
        # After the load: the server still answers correctly.
        check_endpoints(port)
    finally:
        stop(server)
    report(rounds)
    return server_log_report(log_path)


def load_conference(instance: Path, database_url: str, secret_key: str) -> None:
    """Migrate the fresh database and load the 1,000-session conference through apply_schedule."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from companion import create_app, timeutil
    from companion.extensions import db
    from companion.schedule.demo_data import generate_conference
    from companion.schedule.models import Room, Session, Speaker
    from companion.schedule.services import apply_schedule

    app = create_app({"ENV": "production", "PUBLIC_URL": "https://conference.example.org", "SECRET_KEY": secret_key, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        upgrade()
        parsed = generate_conference(FIRST_DAY, random.Random(SEED), days=4, sessions=1000, speakers=400, rooms=22)
        report = apply_schedule(parsed, now=timeutil.now(), rng=random.Random(SEED))
        db.session.commit()
        sessions = db.session.scalar(select(func.count()).select_from(Session))
        speakers = db.session.scalar(select(func.count()).select_from(Speaker))
        rooms = db.session.scalar(select(func.count()).select_from(Room))
        db.session.remove()
        db.engine.dispose()
    print(f"loaded:   {report.summary()}; read back {sessions:,} sessions, {speakers:,} speakers, {rooms} rooms")
    if (sessions, speakers) != (1000, 400):
        raise Failure(f"expected 1,000 sessions and 400 speakers in the database, found {sessions} and {speakers}")


def request(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def wait_for_health(server: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise Failure(f"gunicorn exited with status {server.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            status, _, body = request(port, "/api/v1/health")
        except OSError:
            time.sleep(0.2)
            continue
        if status == 200 and json.loads(body) == {"status": "ok"}:
            return
        raise Failure(f"/api/v1/health answered {status}: {body[:200]!r}")
    raise Failure(f"gunicorn did not answer /api/v1/health within {timeout:.0f} s")


def check_endpoints(port: int) -> tuple[dict[str, object], str]:
    """The schedule answers 200 with 1,000 sessions and an ETag, gzip and 304 work as a browser uses them."""
    status, headers, body = request(port, "/api/v1/schedule", {"Accept-Encoding": "identity"})
    if status != 200:
        raise Failure(f"/api/v1/schedule (identity) answered {status}: {body[:300]!r}")
    document = json.loads(body)
    if len(document.get("sessions", [])) != 1000 or len(document.get("speakers", [])) != 400:
        raise Failure(f"/api/v1/schedule holds {len(document.get('sessions', []))} sessions and "
                      f"{len(document.get('speakers', []))} speakers, expected 1,000 and 400")
    etag = headers.get("etag")
    if not etag:
        raise Failure("/api/v1/schedule has no ETag")
    if headers.get("content-encoding"):
        raise Failure(f"identity request answered with Content-Encoding {headers['content-encoding']}")

    status, gz_headers, gz_body = request(port, "/api/v1/schedule", {"Accept-Encoding": "gzip"})
    if status != 200 or gz_headers.get("content-encoding") != "gzip":
        raise Failure(f"gzip request answered {status}, Content-Encoding {gz_headers.get('content-encoding')!r}")
    if gzip.decompress(gz_body) != body:
        raise Failure("the gzip body does not decompress to the identity body")
    etag_gzip = gz_headers.get("etag")
    if not etag_gzip:
        raise Failure("the gzip answer has no ETag")

    for sent, encoding in ((etag, "identity"), (etag_gzip, "gzip"), (etag, "gzip")):
        status, _, not_modified = request(port, "/api/v1/schedule", {"Accept-Encoding": encoding, "If-None-Match": sent})
        if status != 304 or not_modified:
            raise Failure(f"If-None-Match: {sent} (Accept-Encoding: {encoding}) answered {status} with {len(not_modified)} bytes, expected an empty 304")
    return {"identity": len(body), "gzip": len(gz_body), "etag": etag}, etag_gzip


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise Failure(f"cannot read the wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def wrk_run(wrk: str, label: str, url: str, headers: list[str], duration: int, connections: int) -> WrkResult:
    command = [wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", "Accept-Encoding: gzip"]
    for header in headers:
        if header.lower().startswith("accept-encoding:"):
            command[command.index("Accept-Encoding: gzip")] = header
        else:
            command += ["-H", header]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise Failure(f"wrk failed for {label} ({done.returncode}): {done.stderr or out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _duration_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _duration_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = re.search(r"(\d+) requests in \S+, ([\d.]+)([KMGT]?B) read", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:\s+(.*)", out)
    result = WrkResult(
        label=label, requests_per_s=rps, p50_ms=p50, p99_ms=p99,
        requests=int(total.group(1)), bytes_read=float(total.group(2)) * _SIZE[total.group(3)],
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors.group(1).strip() if socket_errors else "none",
    )
    if result.non_2xx_3xx:
        raise Failure(f"{label}: {result.non_2xx_3xx} non-2xx/3xx answers out of {result.requests}\n{out}")
    if "timeout" in result.socket_errors and not result.socket_errors.endswith("timeout 0"):
        raise Failure(f"{label}: wrk socket errors: {result.socket_errors}")
    return result


def check_sizes(results: dict[str, WrkResult], sizes: dict[str, object]) -> None:
    """wrk cannot tell 200 from 304: the bytes read per answer show what each run really got."""
    identity, gzipped = int(sizes["identity"]), int(sizes["gzip"])  # type: ignore[call-overload]
    expectations = {
        "schedule 200 gzip": (gzipped, gzipped + 2048),
        "schedule 304": (0, 1024),
        "schedule 200 identity": (identity, identity + 2048),
    }
    for label, (low, high) in expectations.items():
        # wrk rounds "N MB read" to two decimals: allow 1% either way.
        got = results[label].bytes_per_response
        if not low * 0.99 <= got <= high * 1.01:
            raise Failure(f"{label}: {got:,.0f} bytes per answer, expected {low:,}..{high:,}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
    print(f"gunicorn stopped (exit status {server.returncode})")


def mean_result(label: str, runs: list[WrkResult]) -> WrkResult:
    return WrkResult(
        label=label,
        requests_per_s=statistics.fmean(r.requests_per_s for r in runs),
        p50_ms=statistics.fmean(r.p50_ms for r in runs),
        p99_ms=statistics.fmean(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
        bytes_read=sum(r.bytes_read for r in runs),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in runs),
        socket_errors="; ".join(r.socket_errors for r in runs if r.socket_errors != "none") or "none",
    )


def report(rounds: list[dict[str, WrkResult]]) -> None:
    """The table: each endpoint's mean over the rounds, and its ratio to the mean of the health runs."""
    if len(rounds) > 1:
        print()
        print("per round, requests/s: " + "; ".join(
            f"{label}: " + ", ".join(f"{r[label].requests_per_s:,.0f}" for r in rounds) for label in rounds[0]))
    results = {label: mean_result(label, [r[label] for r in rounds]) for label in rounds[0]}
    baseline = (results["baseline health (1)"].requests_per_s + results["baseline health (2)"].requests_per_s) / 2
    print()
    print(f"{'endpoint':<34} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'B/answer':>9} {'ratio':>6}  goal")
    rows = [
        ("baseline health (1)", "GET /api/v1/health"),
        ("baseline health (2)", "GET /api/v1/health"),
        ("schedule 200 gzip", "GET /api/v1/schedule 200 gzip"),
        ("schedule 304", "GET /api/v1/schedule 304"),
        ("schedule 200 identity", "GET /api/v1/schedule 200 identity"),
    ]
    for label, shown in rows:
        result = results[label]
        ratio = result.requests_per_s / baseline
        goal = GOALS.get(label)
        if goal is not None:
            goal_text = f">= {goal:.2f} x baseline: {'met' if ratio >= goal else 'not met'}"
        elif label.startswith("baseline"):
            goal_text = "(baseline)"
        else:
            goal_text = "(information)"
        print(f"{shown:<34} {result.requests_per_s:>11,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
              f"{result.bytes_per_response:>9,.0f} {ratio:>6.2f}  {goal_text}")
    first, second = results["baseline health (1)"].requests_per_s, results["baseline health (2)"].requests_per_s
    spread = abs(first - second) / baseline
    print(f"baseline = mean of the health runs before and after = {baseline:,.0f} requests/s (they differ by {spread:.0%})")
    if spread > 0.10:
        print(f"note: the two baseline runs differ by more than 10%: the machine's load changed during the run "
              f"(load average now {_support.load_average()}); treat the ratios as rough and run again on a quiet machine")
    errors = {r.label: r.socket_errors for r in results.values() if r.socket_errors != "none"}
    if errors:
        print("wrk socket errors (not failures):", "; ".join(f"{k}: {v}" for k, v in errors.items()))


def server_log_report(log_path: Path) -> int:
    """Show what the server logged beyond gunicorn's start and stop lines."""
    lines = log_path.read_text(errors="replace").splitlines()
    noteworthy = [line for line in lines if not re.search(r"\[INFO\]", line)]
    if noteworthy:
        print(f"server log: {len(noteworthy)} line(s) besides gunicorn's INFO lines:")
        for line in noteworthy[:40]:
            print(f"  {line}")
    else:
        print(f"server log: {len(lines)} line(s), all gunicorn INFO (start, workers, stop)")
    return 1 if any("Traceback" in line or "[ERROR]" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
