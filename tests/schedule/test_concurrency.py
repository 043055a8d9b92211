"""Imports started at the same moment: the schedule ends up once, never twice, never half."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import select

from companion.schedule.models import Conference, Session, SessionChange, Speaker
from companion.schedule.services import apply_schedule
from tests.concurrency import run_at_once
from tests.factories import DAY_ONE, small_schedule

WRITERS = 8


def _run_concurrently(app, make_parsed) -> list[str]:
    def writer(index: int) -> str:
        return apply_schedule(make_parsed(), now=DAY_ONE, rng=random.Random(index)).summary()

    return sorted(run_at_once(app, WRITERS, writer))


def test_concurrent_first_imports_store_the_schedule_once(app, db):
    summaries = _run_concurrently(app, small_schedule)

    assert summaries == ["added 0, changed 0, cancelled 0, unchanged 6"] * (WRITERS - 1) + [
        "added 6, changed 0, cancelled 0, unchanged 0"
    ]
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 6
    assert db.scalar(select(sa.func.count()).select_from(Speaker)) == 3
    assert db.scalar(select(sa.func.count()).select_from(Conference)) == 1
    assert db.scalar(select(Conference.schedule_version)) == 1


def test_concurrent_reimports_of_a_change_record_it_once(app, db):
    apply_schedule(small_schedule(), now=DAY_ONE, rng=random.Random(1))
    db.commit()

    def moved():
        parsed = small_schedule()
        parsed.sessions[0].start += timedelta(minutes=30)
        parsed.sessions[0].end += timedelta(minutes=30)
        return parsed

    summaries = _run_concurrently(app, moved)

    assert summaries == ["added 0, changed 0, cancelled 0, unchanged 6"] * (WRITERS - 1) + [
        "added 0, changed 1, cancelled 0, unchanged 5"
    ]
    keynote = db.scalars(select(Session).where(Session.source_key == "s-keynote")).one()
    assert (keynote.sequence, keynote.starts_at) == (1, DAY_ONE + timedelta(minutes=30))
    assert db.scalars(select(SessionChange.kind)).all() == ["time"]
    assert db.scalar(select(Conference.schedule_version)) == 2
