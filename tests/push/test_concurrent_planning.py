"""Workers planning the same window at the same moment: one row per message, no deadlock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from companion.agenda import services as agenda
from companion.push import planning
from companion.push.models import PushMessage
from companion.schedule.models import Session
from tests.accounts.factories import make_attendee
from tests.concurrency import run_at_once
from tests.factories import DAY_ONE, load_schedule
from tests.push.factories import make_subscription


def test_eight_planners_at_once_leave_one_row_per_device_and_session(app, db):
    load_schedule()
    sessions = db.scalars(select(Session).where(Session.source_key.in_(["s-keynote", "s-compilers", "s-serving"]))).all()
    people = [make_attendee().user for _ in range(30)]
    for person in people:
        make_subscription(person)
        for session in sessions:
            agenda.star(person, session, now=DAY_ONE - timedelta(hours=1))
    db.commit()
    now = DAY_ONE + timedelta(minutes=36)  # the two talks' reminders (at +35 and +40) are due within 5 minutes

    added = run_at_once(app, 8, lambda _: planning.plan_reminders(now=now))

    assert sum(added) == 60
    assert db.scalar(select(func.count()).select_from(PushMessage)) == 60
    assert db.scalar(select(func.count(func.distinct(PushMessage.session_id)))) == 2
