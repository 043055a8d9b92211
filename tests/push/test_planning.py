"""Planning reminders, change alerts and announcements: exact rows, and never twice."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from companion.agenda import services as agenda
from companion.push import announcements, planning, services
from companion.push.models import Announcement, PushMessage
from companion.schedule.models import Session
from tests.accounts.factories import make_attendee, make_user
from tests.factories import DAY_ONE, load_schedule, small_schedule
from tests.push.factories import make_subscription


def _session(db, key: str) -> Session:
    return db.scalars(select(Session).where(Session.source_key == key)).one()


def _messages(db) -> list[tuple]:
    db.expire_all()
    return [(m.kind, m.user_id, m.subscription_id, m.dedupe_key, m.status, m.due_at, m.expires_at)
            for m in db.scalars(select(PushMessage).order_by(PushMessage.id))]


def test_reminders_planned_twice_make_one_row_per_device(db, clock):
    load_schedule()
    user = make_attendee().user
    phone, laptop = make_subscription(user), make_subscription(user)
    keynote = _session(db, "s-keynote")
    agenda.star(user, keynote, now=DAY_ONE - timedelta(hours=1))
    db.commit()
    now = DAY_ONE - timedelta(minutes=14)  # the 10-minute reminder is due in 4 minutes: inside the horizon

    first = planning.plan_reminders(now=now)
    second = planning.plan_reminders(now=now)
    db.commit()

    key = f"reminder:{keynote.code}:{keynote.starts_at.isoformat()}"
    due = DAY_ONE - timedelta(minutes=10)
    assert (first, second) == (2, 0)
    assert _messages(db) == [("reminder", user.id, phone.id, key, "pending", due, DAY_ONE),
                             ("reminder", user.id, laptop.id, key, "pending", due, DAY_ONE)]


def test_reminder_not_planned_before_the_horizon_and_respects_the_lead_time(db, clock):
    load_schedule()
    user = make_attendee().user
    make_subscription(user)
    agenda.star(user, _session(db, "s-keynote"), now=DAY_ONE - timedelta(hours=1))
    services.set_preferences(user, services.Preferences(lead_minutes=30), now=DAY_ONE - timedelta(hours=1))
    db.commit()

    too_early = planning.plan_reminders(now=DAY_ONE - timedelta(minutes=36))  # due at -30 min, horizon 5 min
    in_time = planning.plan_reminders(now=DAY_ONE - timedelta(minutes=35))
    db.commit()

    assert (too_early, in_time) == (0, 1)
    assert [row[5] for row in _messages(db)] == [DAY_ONE - timedelta(minutes=30)]


def test_no_reminders_when_turned_off_or_cancelled(db, clock):
    load_schedule()
    quiet, other = make_attendee().user, make_attendee().user
    make_subscription(quiet), make_subscription(other)
    for person in (quiet, other):
        agenda.star(person, _session(db, "s-keynote"), now=DAY_ONE - timedelta(hours=1))
    services.set_preferences(quiet, services.Preferences(reminders=False), now=DAY_ONE - timedelta(hours=1))
    db.commit()
    parsed = small_schedule()
    parsed.sessions[:] = [s for s in parsed.sessions if s.key != "s-keynote"]  # leaves: it is cancelled
    load_schedule(parsed, now=DAY_ONE - timedelta(hours=1))

    assert planning.plan_reminders(now=DAY_ONE - timedelta(minutes=12)) == 0


def test_moved_session_withdraws_the_old_reminder_and_plans_the_new_time(db, clock):
    load_schedule()
    user = make_attendee().user
    make_subscription(user)
    keynote = _session(db, "s-keynote")
    agenda.star(user, keynote, now=DAY_ONE - timedelta(hours=1))
    db.commit()
    planning.plan_reminders(now=DAY_ONE - timedelta(minutes=12))
    db.commit()
    parsed = small_schedule()
    parsed.sessions[0] = replace(parsed.sessions[0], start=DAY_ONE + timedelta(minutes=5),
                                 end=DAY_ONE + timedelta(minutes=35))
    load_schedule(parsed, now=DAY_ONE - timedelta(minutes=11))

    result = planning.plan_all(now=DAY_ONE - timedelta(minutes=10))
    db.commit()

    moved = DAY_ONE + timedelta(minutes=5)
    rows = _messages(db)
    assert (result.withdrawn, result.reminders) == (1, 1)
    assert [(r[3], r[4], r[5]) for r in rows if r[0] == "reminder"] == [
        (f"reminder:{keynote.code}:{DAY_ONE.isoformat()}", "expired", DAY_ONE - timedelta(minutes=10)),
        (f"reminder:{keynote.code}:{moved.isoformat()}", "pending", moved - timedelta(minutes=10)),
    ]


def test_unstarring_withdraws_a_pending_reminder(db, clock):
    load_schedule()
    user = make_attendee().user
    make_subscription(user)
    keynote = _session(db, "s-keynote")
    agenda.star(user, keynote, now=DAY_ONE - timedelta(hours=1))
    planning.plan_reminders(now=DAY_ONE - timedelta(minutes=12))
    agenda.unstar(user, keynote)
    db.commit()

    assert planning.withdraw_stale_reminders(now=DAY_ONE - timedelta(minutes=11)) == 1
    db.commit()
    assert [r[4] for r in _messages(db)] == ["expired"]


def test_one_change_alert_per_person_for_several_changes_in_one_import(db, clock):
    load_schedule(now=DAY_ONE - timedelta(days=2))
    fan, bystander = make_attendee().user, make_attendee().user
    phone = make_subscription(fan)
    make_subscription(bystander)
    for key in ("s-compilers", "s-serving", "s-lightning"):
        agenda.star(fan, _session(db, key), now=DAY_ONE - timedelta(days=1))
    agenda.star(bystander, _session(db, "s-workshop"), now=DAY_ONE - timedelta(days=1))
    db.commit()
    parsed = small_schedule()
    by_key = {s.key: i for i, s in enumerate(parsed.sessions)}
    compilers = parsed.sessions[by_key["s-compilers"]]
    parsed.sessions[by_key["s-compilers"]] = replace(compilers, start=compilers.start + timedelta(minutes=15),
                                                     end=compilers.end + timedelta(minutes=15))
    parsed.sessions[by_key["s-serving"]] = replace(parsed.sessions[by_key["s-serving"]], room="Founders Cafe")
    parsed.sessions.pop(by_key["s-lightning"])  # cancelled
    imported_at = DAY_ONE - timedelta(hours=2)
    load_schedule(parsed, now=imported_at)

    first = planning.plan_change_alerts(now=DAY_ONE - timedelta(hours=1))
    again = planning.plan_change_alerts(now=DAY_ONE - timedelta(minutes=59))
    db.commit()

    assert (first, again) == (1, 0)
    message = db.scalars(select(PushMessage)).one()
    assert (message.kind, message.user_id, message.subscription_id, message.dedupe_key) == (
        "change", fan.id, phone.id, f"changes:{imported_at.isoformat()}")
    assert json.loads(message.payload) == {
        "title": "3 sessions you starred changed",
        # in the order of the sessions' (new) start times
        "body": "“Serving Models at Scale” moved to Founders Cafe; “Compilers for Everyone” now starts at Tue 10:00; "
                "“Lightning Talk: Tiny Tensors” is cancelled.",
        "url": "/agenda", "tag": "changes"}


def test_announcement_planned_once_for_its_audience(db, clock):
    staff = make_user(role="staff")
    arrived, absent = make_attendee(), make_attendee()
    arrived.checked_in_at = clock()
    db.commit()
    for person in (arrived.user, absent.user):
        make_subscription(person)
    announcement = announcements.create_announcement(
        staff, title="Doors open", body="The expo hall is open.", link="/schedule", audience="checked_in",
        send_at=clock() + timedelta(minutes=5), now=clock(), rng=random.Random(1))
    db.commit()

    before = planning.plan_announcements(now=clock() + timedelta(minutes=4))
    at_time = planning.plan_announcements(now=clock() + timedelta(minutes=5))
    after = planning.plan_announcements(now=clock() + timedelta(minutes=6))
    db.commit()

    db.refresh(announcement)
    assert (before, at_time, after) == (0, 1, 0)
    assert (announcement.planned_at, announcement.recipients) == (clock() + timedelta(minutes=5), 1)
    message = db.scalars(select(PushMessage)).one()
    assert (message.user_id, message.dedupe_key, json.loads(message.payload)) == (
        arrived.user_id, f"announcement:{announcement.code}",
        {"title": "Doors open", "body": "The expo hall is open.", "url": "/schedule",
         "tag": f"announcement-{announcement.code}"})
    assert db.scalars(select(Announcement.code)).all() == [announcement.code]
