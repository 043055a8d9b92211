"""Helpers shared by the benchmarks in this folder (not a benchmark itself).

Everything here runs on 127.0.0.1 only and cleans up after itself: a PostgreSQL database made by
:func:`scratch_database` is dropped when its ``with`` block ends, whatever happened inside.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shlex
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
# The server whose ``test`` database we connect to in order to create and drop scratch databases.
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def reproduce_line() -> str:
    """The exact command line that reproduces this run, from the repository root."""
    python = Path(sys.executable)
    try:
        python_shown = str(python.relative_to(REPO))
    except ValueError:
        python_shown = str(python)
    script = Path(sys.argv[0]).resolve()
    try:
        script_shown = str(script.relative_to(REPO))
    except ValueError:
        script_shown = str(script)
    return f"cd {shlex.quote(str(REPO))} && {shlex.join([python_shown, script_shown, *sys.argv[1:]])}"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_lines(database: str) -> list[str]:
    """What the figures were measured on: cores, Python, OS, database server."""
    lines = [
        f"machine:  nproc={cpu_count()}  {platform.machine()}  {platform.platform(terse=True)}",
        f"load:     {load_average()} (1/5/15 min load average before the run: other work skews the figures)",
        f"python:   {platform.python_implementation()} {platform.python_version()} ({sys.executable})",
    ]
    if database == "sqlite":
        lines.append(f"database: SQLite {sqlite3.sqlite_version} (file in a temporary instance folder, WAL)")
    else:
        lines.append(f"database: {postgres_version()} at 127.0.0.1:5432")
    return lines


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT version()").fetchone()
    return str(row[0]).split(" on ")[0] if row else "PostgreSQL (unknown version)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def scratch_database(kind: str, instance: Path) -> Iterator[str]:
    """A fresh empty database, as the ``COMPANION_DATABASE_URL`` to give the app.

    ``sqlite``: a file in ``instance`` (the caller removes the folder). ``postgresql``: a new
    database ``bench_<random>`` on the server of :data:`POSTGRES_ADMIN_URL`, dropped on exit.
    """
    if kind == "sqlite":
        yield f"sqlite:///{instance / 'companion.sqlite3'}"
        return
    import psycopg

    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            # WITH (FORCE) (PostgreSQL 13+) ends sessions a crashed run may have left connected.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


def sqlalchemy_url(url: str) -> str:
    """The app's normalisation of a database URL (psycopg 3 driver for PostgreSQL)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_test_header(database: str, workers: int, connections: int, duration: int) -> str | None:
    """Print the reproduce line and what runs the load (machine, gunicorn, wrk); the path of wrk.

    :return: None, after saying how to install it, when wrk is missing (the caller exits 2).
    """
    import shutil
    from importlib.metadata import PackageNotFoundError, version

    print(f"reproduce: {reproduce_line()}")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: this benchmark needs Debian's wrk (apt-get install wrk).", file=sys.stderr)
        return None
    for line in machine_lines(database):
        print(line)
    try:
        gunicorn = version("gunicorn")
    except PackageNotFoundError:
        gunicorn = "unknown"
    print(f"server:   gunicorn {gunicorn} -w {workers} (sync workers), 127.0.0.1")
    print(f"wrk:      {tool_version([wrk, '--version'])}; -t2 -c{connections} -d{duration}s")
    print()
    return wrk


def tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"
