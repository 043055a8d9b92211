"""Benchmark: ``companion schedule import`` of a 1,000-event frab XML file, then its re-import.

1. Builds the 1,000-session / 400-speaker conference (``generate_conference``, 4 days, 22 rooms),
   loads it into a scratch SQLite database and renders it with our own exporter
   (``render_export("xml")``) into a temporary file, which must hold exactly 1,000 ``<event>``s.
2. In a fresh empty database (``--database sqlite``, the default, or ``postgresql``) runs
   ``companion db upgrade`` (untimed), then times, each as a subprocess of ``.venv/bin/companion``:
   the baseline ``companion --help`` (it builds the app and does nothing else: process start-up,
   median of 3), ``companion db current`` (start-up plus a database connection, for information),
   ``companion schedule import FILE``, and the re-import of the same file.
3. Checks the summary lines ("added 1000, ..." then "... unchanged 1000") and that the re-import
   wrote nothing: per-table row counts, a digest of every table's rows, ``max(session.updated_at)``
   and ``conference.schedule_version`` are identical before and after it (and, on PostgreSQL, the
   rows inserted, updated and deleted according to ``pg_stat_user_tables``).

Goals (information, not assertions): import < 5 s, re-import < 2 s, re-import writes 0 rows; the
times compared with the goals are whole commands, start-up included. The exit status is 1 only if
something functionally failed (a command failed, wrong counts, the re-import wrote something).

Run from the repository root::

    .venv/bin/python bench/import.py [--database sqlite|postgresql]

``--database postgresql`` creates a database ``bench_<random>`` on the server of
postgresql://postgres@127.0.0.1:5432/test and drops it at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

FIRST_DAY = date(2026, 10, 20)
SEED = 2026
COMPANION = str(_support.VENV_BIN / "companion")
GOAL_IMPORT_S = 5.0
GOAL_REIMPORT_S = 2.0
SUMMARY = re.compile(r"added (\d+), changed (\d+), cancelled (\d+), unchanged (\d+)")
COMMAND_TIMEOUT_S = 120


class Failure(Exception):
    """Something functionally wrong: the run's figures cannot be trusted."""


@dataclass
class Timed:
    seconds: float
    stdout: str
    stderr: str


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    print(f"reproduce: {_support.reproduce_line()}")
    for line in _support.machine_lines(args.database):
        print(line)
    print()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        try:
            print("making the file in a scratch SQLite database (untimed) ...")
            schedule_file = make_schedule_file(Path(tmp))
            instance = Path(tmp) / "instance"
            instance.mkdir()
            with _support.scratch_database(args.database, instance) as database_url:
                return run(args.database, schedule_file, instance, database_url)
        except Failure as failure:
            print(f"\nFAILED: {failure}")
            return 1


def make_schedule_file(tmp: Path) -> Path:
    """The 1,000-session conference as frab XML, written by our own exporter."""
    from defusedxml import ElementTree
    from flask_migrate import upgrade

    from companion import create_app, timeutil
    from companion.extensions import db
    from companion.schedule.demo_data import generate_conference
    from companion.schedule.exporters import render_export
    from companion.schedule.services import apply_schedule

    scratch = tmp / "scratch"
    scratch.mkdir()
    started = time.perf_counter()
    app = create_app({"ENV": "development", "SECRET_KEY": "bench", "INSTANCE_PATH": str(scratch),
                      "DATABASE_URL": f"sqlite:///{scratch / 'scratch.sqlite3'}", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        parsed = generate_conference(FIRST_DAY, random.Random(SEED), days=4, sessions=1000, speakers=400, rooms=22)
        apply_schedule(parsed, now=timeutil.now(), rng=random.Random(SEED))
        db.session.commit()
        data = render_export("xml", base_url="http://localhost/")
        db.session.remove()
        db.engine.dispose()
    path = tmp / "schedule.xml"
    path.write_bytes(data)
    root = ElementTree.fromstring(data)
    events = len(root.findall(".//event"))
    persons = {p.get("id") for p in root.iter("person")}
    rooms = {r.get("name") for r in root.iter("room") if r.get("name")}
    print(f"file:     {path.name}: {len(data):,} bytes of frab XML from render_export('xml'), {events:,} <event>s, "
          f"{len(persons)} distinct persons, {len(rooms)} rooms (made in {time.perf_counter() - started:.1f} s, untimed)")
    if events != 1000:
        raise Failure(f"the exported file has {events} <event> elements, expected 1,000")
    return path


def companion(args: list[str], env: dict[str, str]) -> Timed:
    started = time.perf_counter()
    done = subprocess.run([COMPANION, *args], env=env, cwd=_support.REPO, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise Failure(f"`companion {' '.join(args)}` exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return Timed(seconds, done.stdout, done.stderr)


def run(database: str, schedule_file: Path, instance: Path, database_url: str) -> int:
    env = {**os.environ, "COMPANION_ENV": "development", "COMPANION_DATABASE_URL": database_url,
           "COMPANION_INSTANCE_PATH": str(instance)}
    env.pop("COMPANION_SECRET_KEY", None)  # development: generated once into the instance folder
    companion(["db", "upgrade"], env)
    print("target:   a fresh database, migrated with `companion db upgrade` (untimed)")

    startup = [companion(["--help"], env).seconds for _ in range(3)]
    db_current = [companion(["db", "current"], env).seconds for _ in range(3)]

    empty = snapshot(database_url)
    first = companion(["schedule", "import", str(schedule_file)], env)
    first_summary = summary_of(first, "import")
    before = snapshot(database_url)
    second = companion(["schedule", "import", str(schedule_file)], env)
    second_summary = summary_of(second, "re-import")
    after = snapshot(database_url)

    print(f"import:    {first.stdout.strip().splitlines()[0]}  [{progress(first)}]")
    print(f"re-import: {second.stdout.strip().splitlines()[0]}  [{progress(second)}]")
    print()
    problems: list[str] = []
    if first_summary != (1000, 0, 0, 0):
        problems.append(f"import summary {first_summary}, expected added 1000, changed 0, cancelled 0, unchanged 0")
    if second_summary != (0, 0, 0, 1000):
        problems.append(f"re-import summary {second_summary}, expected added 0, changed 0, cancelled 0, unchanged 1000")
    if before["counts"].get("session") != 1000 or before["counts"].get("speaker") != 400:
        problems.append(f"after the import the database holds {before['counts'].get('session')} sessions and "
                        f"{before['counts'].get('speaker')} speakers, expected 1,000 and 400")

    print(f"{'state around the re-import':<38} {'before':<34} after")
    for table in sorted(set(before["counts"]) | set(after["counts"])):
        b, a = before["counts"].get(table), after["counts"].get(table)
        same = b == a and before["digests"].get(table) == after["digests"].get(table)
        print(f"  rows in {table:<28} {b!s:<34} {a!s:<34} {'same rows' if same else 'CHANGED'}")
    for key, shown in (("max_updated_at", "max(session.updated_at)"), ("schedule_version", "conference.schedule_version")):
        print(f"  {shown:<36} {before[key]!s:<34} {after[key]!s:<34} {'same' if before[key] == after[key] else 'CHANGED'}")
    written: int | None = None
    if "pg_writes" in before:
        written = after["pg_writes"] - before["pg_writes"]
        print(f"  rows inserted+updated+deleted (pg_stat_user_tables): import {before['pg_writes'] - empty['pg_writes']}"
              f" (shows the counter works), re-import {written}")
    changed = [key for key in ("counts", "digests", "max_updated_at", "schedule_version") if before[key] != after[key]]
    if changed:
        problems.append(f"the re-import changed {', '.join(changed)}")
    if written:
        problems.append(f"the re-import wrote {written} rows according to pg_stat_user_tables")
    # On SQLite the stored state is the evidence; on PostgreSQL the server's own counters as well.
    rows_written: int | str = written if written else ("some" if changed else 0)

    base = statistics.median(startup)
    print()
    print(f"{'command':<48} {'seconds':>8} {'minus start-up':>15}  goal")
    print(f"{'companion --help (start-up baseline, median of 3)':<48} {base:>8.2f} {'':>15}  (baseline; runs {', '.join(f'{s:.2f}' for s in startup)})")
    print(f"{'companion db current (median of 3)':<48} {statistics.median(db_current):>8.2f} "
          f"{statistics.median(db_current) - base:>+15.2f}  (information)")
    for label, timed, goal in (("companion schedule import FILE", first, GOAL_IMPORT_S),
                               ("companion schedule import FILE (re-import)", second, GOAL_REIMPORT_S)):
        met = "met" if timed.seconds < goal else "not met"
        print(f"{label:<48} {timed.seconds:>8.2f} {timed.seconds - base:>+15.2f}  < {goal:.0f} s: {met}")
    print(f"{'rows written by the re-import':<48} {rows_written!s:>8} {'':>15}  = 0: {'met' if rows_written == 0 else 'not met'}")

    print(f"load average after the run: {_support.load_average()}")
    if problems:
        raise Failure("; ".join(problems))
    return 0


def summary_of(timed: Timed, label: str) -> tuple[int, int, int, int]:
    match = SUMMARY.search(timed.stdout)
    if not match:
        raise Failure(f"no summary line in the {label}'s output:\n{timed.stdout}\n{timed.stderr}")
    return tuple(int(n) for n in match.groups())  # type: ignore[return-value]


def progress(timed: Timed) -> str:
    """The CLI's own timings from its stderr ("Parsed ... in X s", "Done in Y s")."""
    parsed = re.search(r"\) in ([\d.]+) s; applying", timed.stderr)
    done = re.search(r"Done in ([\d.]+) s", timed.stderr)
    if not parsed or not done:
        return "no timings on stderr"
    return f"in-process: read+parse {parsed.group(1)} s, total {done.group(1)} s"


def snapshot(database_url: str) -> dict[str, Any]:
    """Row counts and a digest of every table's rows, the session's latest update and the version."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(_support.sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            counts: dict[str, int] = {}
            digests: dict[str, str] = {}
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                counts[table] = len(rows)
                digests[table] = hashlib.sha256("\n".join(sorted(repr(tuple(r)) for r in rows)).encode()).hexdigest()
            result: dict[str, Any] = {
                "counts": counts,
                "digests": digests,
                "max_updated_at": conn.execute(text("SELECT max(updated_at) FROM session")).scalar(),
                "schedule_version": conn.execute(text("SELECT schedule_version FROM conference")).scalar(),
            }
            if engine.dialect.name == "postgresql":
                result["pg_writes"] = conn.execute(text(
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")).scalar()
    finally:
        engine.dispose()
    return result


if __name__ == "__main__":
    sys.exit(main())
