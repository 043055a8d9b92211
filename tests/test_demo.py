"""`companion demo`: a database made from nothing, a generated conference, loaded once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import date

import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from companion.demo import demo_command
from companion.schedule.models import Conference, Room, Speaker
from companion.schedule.models import Session as ScheduleSession


def test_demo_loads_a_two_day_paris_conference_once(scratch_database_url, tmp_path):
    env = {"COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_DATABASE_URL": scratch_database_url}
    runner = CliRunner()

    first = runner.invoke(demo_command, ["--no-serve", "--port", "5055"], env=env)
    second = runner.invoke(demo_command, ["--no-serve"], env=env)

    assert first.exit_code == 0, first.output
    assert "Loaded the demo conference: added 80, changed 0, cancelled 0, unchanged 0." in first.output
    assert "Schedule:  http://127.0.0.1:5055/schedule" in first.output
    assert "already holds a conference; keeping it" in second.output
    engine = sa.create_engine(scratch_database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with Session(engine) as db:
        _check_demo_data(db)
    engine.dispose()


def _check_demo_data(db: Session) -> None:
    conference = db.scalars(select(Conference)).one()
    assert conference.timezone == "Europe/Paris"
    assert (conference.end_date - conference.start_date).days == 1
    assert conference.start_date >= date(2026, 1, 1)
    assert db.scalar(select(sa.func.count()).select_from(ScheduleSession)) == 80
    assert 90 <= db.scalar(select(sa.func.count()).select_from(Speaker)) <= 110
    buildings = Counter(db.scalars(select(Room.building)))
    assert buildings == Counter({"Pier 1": 3, "Pier 2": 2})
    types = Counter(db.scalars(select(ScheduleSession.type)))
    assert set(types) == {"Keynote", "Talk", "Lightning Talk", "Workshop", "Break"}
    assert types["Keynote"] == 4


def test_demo_command_serves_the_schedule(scratch_database_url, tmp_path):
    """The README's demo command, run for real: it answers on the port it printed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    companion = os.path.join(os.path.dirname(sys.executable), "companion")
    env = {**os.environ, "COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_DATABASE_URL": scratch_database_url}
    server = subprocess.Popen([companion, "demo", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/schedule", timeout=5) as response:
                    document = response.read()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the demo did not answer within 60 s"
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/schedule", timeout=5) as response:
            page = response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert len(json.loads(document)["sessions"]) == 80
    assert "PyTorch Conference Demo" in page and "Keynote: The State of PyTorch, Day 1" in page
