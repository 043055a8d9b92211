"""`companion demo`: a database made from nothing, a generated conference, loaded once."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.parse
import re
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from companion.accounts.models import Attendee, User
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
    assert re.search(r"^Attendee:  http://127\.0\.0\.1:5055/sign-in/[\w-]{43}$", first.output, re.M)
    assert re.search(r"^Staff:     http://127\.0\.0\.1:5055/sign-in/[\w-]{43}$", first.output, re.M)
    assert "Loaded the demo attendees: added 60, updated 0, unchanged 0, skipped 0; staff: sam@staff.example." in first.output
    assert "already holds a conference; keeping it" in second.output
    assert re.search(r"^Hunt: 6 hunt stations, (34|0) stamps; booth account booth@acme\.example / demo-booth-password "
                     r"\(Acme AI\)\.$", first.output, re.M)
    assert "Hunt: The database already holds hunt stations; keeping them." in second.output
    assert re.search(r"^Raffles: Early birds' raffle (drawn|frozen) \([A-Z0-9]{8}\), Daily hunt raffle open at 15:45 "
                     r"\([A-Z0-9]{8}\)\.$", first.output, re.M)
    assert "Raffles: The database already holds raffles; keeping them." in second.output
    assert re.search(r"^Raffles:   http://127\.0\.0\.1:5055/staff/raffles .* http://127\.0\.0\.1:5055/raffles/[A-Z0-9]{8}$",
                     first.output, re.M)
    assert re.search(r"^Posters: 36 posters, voting open until \d\d:\d\d, 60 votes cast\.$", first.output, re.M)
    assert "Posters: The database already holds posters; keeping them." in second.output
    assert "Offline:   star, vote or open a booth's QR with the connection off (DevTools: Network, Offline); " \
           "http://127.0.0.1:5055/queue shows what waits and what the server answered once it is back" in first.output
    assert "Posters:   http://127.0.0.1:5055/posters (vote as the attendee) · staff tally: " \
           "http://127.0.0.1:5055/staff/voting" in first.output
    assert re.search(r"^Push:      http://127\.0\.0\.1:5055/me/notifications  \(VAPID public key [\w-]{16}\.\.\.;", first.output, re.M)
    assert "Made a VAPID key pair" in first.output and "Made a VAPID key pair" not in second.output
    assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o777 == 0o600
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
    assert db.scalar(select(sa.func.count()).select_from(Attendee)) == 60
    assert db.scalar(select(sa.func.count()).select_from(Attendee).where(Attendee.checked_in_at.is_not(None))) == 19
    assert db.scalars(select(User.role).where(User.email == "sam@staff.example")).one() == "admin"
    _check_demo_hunt(db, conference)
    _check_demo_raffles(db, conference)
    _check_demo_posters(db)
    types = Counter(db.scalars(select(ScheduleSession.type)))
    assert set(types) == {"Keynote", "Talk", "Lightning Talk", "Workshop", "Break"}
    assert types["Keynote"] == 4


def _check_demo_hunt(db: Session, conference: Conference) -> None:
    from companion.hunt.models import Stamp, Station
    from companion.schedule.days import conference_day

    stations = db.scalars(select(Station).order_by(Station.position)).all()
    assert [(s.name, s.required, s.active_days) for s in stations] == [
        (name, name == "PyTorch Foundation", [conference.start_date, conference.end_date])
        for name in ("PyTorch Foundation", "Acme AI", "Tensor Cloud", "GPU Works", "Graph Labs", "Open Models Co")]
    today = conference_day(datetime.now(UTC), ZoneInfo("Europe/Paris"))
    stamps = db.scalar(select(sa.func.count()).select_from(Stamp))
    assert stamps == (34 if today == conference.start_date else 0)
    booth = db.scalars(select(User).where(User.email == "booth@acme.example")).one()
    assert (booth.role, booth.booth_code) == ("booth", stations[1].code)


def _check_demo_raffles(db: Session, conference: Conference) -> None:
    from companion.raffle.models import Raffle, RaffleEntry, RaffleWinner
    from companion.raffle.proof import problems
    from companion.schedule.days import conference_day

    morning, daily = db.scalars(select(Raffle).order_by(Raffle.id)).all()
    completers = 8 if conference_day(datetime.now(UTC), ZoneInfo("Europe/Paris")) == conference.start_date else 0
    entries = sorted(db.scalars(select(RaffleEntry.entry_code).where(RaffleEntry.raffle_id == morning.id)))
    assert (len(entries), daily.frozen_at, daily.winners_wanted) == (completers, None, 1)
    winners = db.execute(select(RaffleWinner.k, RaffleEntry.entry_code, RaffleWinner.status)
                         .join(RaffleEntry).order_by(RaffleWinner.k)).all()
    assert len(winners) == min(2, completers) and {status for _, _, status in winners} <= {"drawn"}
    if completers:  # the same check anyone can run on the published proof
        proof = {"algorithm": "sha256-counter-v1", "entries": entries, "excluded": [], "list_hash": morning.list_hash,
                 "commitment": morning.commitment, "seed": morning.seed, "winners_wanted": 2,
                 "winners": [{"k": k, "entry": e, "status": s} for k, e, s in winners]}
        assert problems(proof) == []


def _check_demo_posters(db: Session) -> None:
    from companion.voting.models import Ballot, Poster, VoteCategory, VotingWindow

    assert db.scalar(select(sa.func.count()).select_from(Poster)) == 36
    assert db.scalars(select(VoteCategory.name).order_by(VoteCategory.position)).all() == ["Best poster", "People's choice"]
    window = db.scalars(select(VotingWindow)).one()
    assert window.opens_at < datetime.now(UTC) < window.closes_at
    per_category = db.execute(select(Ballot.category_id, sa.func.count(), sa.func.count(sa.distinct(Ballot.user_id)))
                              .group_by(Ballot.category_id)).all()
    assert sorted(n for _, n, _ in per_category) == [30, 30] and all(n == people for _, n, people in per_category)


def _printed_link(server: subprocess.Popen, label: str, deadline: float) -> str:
    """Read the demo's output until the line ``<label>: <link>``."""
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if line.startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
        assert line or server.poll() is None, "the demo stopped before printing its links"
    raise AssertionError(f"no {label} link within the time")


def test_demo_command_serves_the_schedule(scratch_database_url, tmp_path):
    """The README's demo command, run for real: it answers on the port it printed, and the
    attendee link it printed signs in and shows the badge."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    companion = os.path.join(os.path.dirname(sys.executable), "companion")
    env = {**os.environ, "COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_DATABASE_URL": scratch_database_url}
    server = subprocess.Popen([companion, "demo", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        attendee_link = _printed_link(server, "Attendee", deadline)
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
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = browser.open(attendee_link, timeout=5).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        badge = browser.open(attendee_link, data=urllib.parse.urlencode({"csrf_token": token}).encode(), timeout=10)
        badge_url, badge_page = badge.geturl(), badge.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert len(json.loads(document)["sessions"]) == 80
    assert "PyTorch Conference Demo" in page and "Keynote: The State of PyTorch, Day 1" in page
    assert badge_url == f"http://127.0.0.1:{port}/me/badge"
    assert "Ada Lovelace" in badge_page and "Analytical Engines" in badge_page
