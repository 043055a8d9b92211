"""`companion demo`: a database made from nothing, a generated conference, loaded once."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import select

from companion.demo import demo_command
from companion.schedule.models import Conference, Room, Session, Speaker


def test_demo_loads_a_two_day_paris_conference_once(app, db, database_url, tmp_path):
    env = {"COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_DATABASE_URL": database_url}
    runner = CliRunner()

    first = runner.invoke(demo_command, ["--no-serve", "--port", "5055"], env=env)
    second = runner.invoke(demo_command, ["--no-serve"], env=env)

    assert first.exit_code == 0, first.output
    assert "Loaded the demo conference: added 80, changed 0, cancelled 0, unchanged 0." in first.output
    assert "Schedule:  http://127.0.0.1:5055/schedule" in first.output
    assert "already holds a conference; keeping it" in second.output
    db.expire_all()
    conference = db.scalars(select(Conference)).one()
    assert conference.timezone == "Europe/Paris"
    assert (conference.end_date - conference.start_date).days == 1
    assert conference.start_date >= date(2026, 1, 1)
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 80
    assert 90 <= db.scalar(select(sa.func.count()).select_from(Speaker)) <= 110
    buildings = Counter(db.scalars(select(Room.building)))
    assert buildings == Counter({"Pier 1": 3, "Pier 2": 2})
    types = Counter(db.scalars(select(Session.type)))
    assert set(types) == {"Keynote", "Talk", "Lightning Talk", "Workshop", "Break"}
    assert types["Keynote"] == 4
