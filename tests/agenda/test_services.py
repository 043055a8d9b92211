"""Agenda services: stars once, device stars merged, tokens replaced, walking times."""

from __future__ import annotations


import pytest
import sqlalchemy as sa
from sqlalchemy import select

from companion.agenda import services
from companion.agenda.models import CalendarFeed, Favourite, WalkingTime
from companion.extensions import db as _db
from companion.schedule.models import Session
from tests.concurrency import run_at_once
from tests.accounts.factories import make_attendee
from tests.factories import load_schedule, small_schedule


def _session(db, key: str) -> Session:
    return db.scalars(select(Session).where(Session.source_key == key)).one()


def test_star_twice_is_one_star_and_unstar_is_idempotent(db, clock):
    load_schedule()
    user = make_attendee().user
    keynote = _session(db, "s-keynote")

    first, second = services.star(user, keynote, now=clock.moment), services.star(user, keynote, now=clock.moment)
    db.commit()

    assert (first, second) == (True, False)
    assert db.scalars(select(Favourite.session_id).where(Favourite.user_id == user.id)).all() == [keynote.id]
    assert (services.unstar(user, keynote), services.unstar(user, keynote)) == (True, False)


def test_fifty_concurrent_stars_leave_one(app, db, clock):
    load_schedule()
    user_id = make_attendee().user_id
    session_id = _session(db, "s-keynote").id
    def tap(_: int) -> bool:
        from companion.accounts.models import User

        user, session = _db.session.get(User, user_id), _db.session.get(Session, session_id)
        return services.star(user, session, now=clock.moment)

    results = run_at_once(app, 50, tap)

    assert sorted(results) == [False] * 49 + [True]
    assert db.scalar(select(sa.func.count()).select_from(Favourite)) == 1


def test_device_stars_merge_into_the_account(db, clock):
    load_schedule()
    user = make_attendee().user
    services.star(user, _session(db, "s-keynote"), now=clock.moment)
    codes = [_session(db, k).code for k in ("s-keynote", "s-serving", "s-break")] + ["NOPE99", "X" * 40, 7]

    added = services.merge_device_stars(user, codes, now=clock.moment)
    db.commit()

    assert added == 2
    starred = db.scalars(select(Session.source_key).join(Favourite).where(Favourite.user_id == user.id)
                         .order_by(Session.source_key)).all()
    assert starred == ["s-break", "s-keynote", "s-serving"]


def test_mark_seen_takes_each_sessions_sequence(db, clock):
    load_schedule()
    user = make_attendee().user
    services.star(user, _session(db, "s-keynote"), now=clock.moment)
    services.star(user, _session(db, "s-serving"), now=clock.moment)
    db.commit()
    parsed = small_schedule()
    parsed.sessions[0].title = "Opening Keynote (moved)"
    load_schedule(parsed)

    before = dict(db.execute(select(Session.source_key, Favourite.seen_sequence).join(Favourite)).all())
    services.mark_seen(user)
    db.commit()
    after = dict(db.execute(select(Session.source_key, Favourite.seen_sequence).join(Favourite)).all())

    assert before == {"s-keynote": 0, "s-serving": 0}
    assert after == {"s-keynote": 1, "s-serving": 0}


def test_regenerated_feed_token_replaces_the_old(db, clock):
    user = make_attendee().user
    tokens = iter(["first-token", "second-token"])

    first = services.calendar_feed(user, now=clock.moment, make_token=lambda: next(tokens)).token
    again = services.calendar_feed(user, now=clock.moment).token
    services.regenerate_feed(user, now=clock.moment, make_token=lambda: next(tokens))
    db.commit()

    assert (first, again) == ("first-token", "first-token")
    assert db.scalars(select(CalendarFeed.token)).all() == ["second-token"]


def test_alarm_choices_are_checked(db, clock):
    user = make_attendee().user

    assert services.set_alarm(user, 10, now=clock.moment).alarm_minutes == 10
    with pytest.raises(services.AgendaError, match="choose an alarm of 5, 10, 15, 30 minutes, or none"):
        services.set_alarm(user, 7, now=clock.moment)


def test_walking_time_is_one_row_per_pair_in_either_order(db):
    services.set_walking_time("Pier 2", "Pier 1", 5)
    services.set_walking_time("Pier 1", "Pier 2", 7)
    db.commit()

    assert db.execute(select(WalkingTime.building_a, WalkingTime.building_b, WalkingTime.minutes)).all() == [
        ("Pier 1", "Pier 2", 7)]
    with pytest.raises(services.AgendaError, match="give two different buildings"):
        services.set_walking_time("Pier 1", "Pier 1", 3)
