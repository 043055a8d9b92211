"""Stamping: once per person, station and day (a constraint), under 50 submissions at once too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from companion.accounts.models import User
from companion.extensions import db as _db
from companion.hunt import services
from companion.hunt.models import Stamp, Station
from tests.accounts.factories import make_attendee, make_user
from tests.concurrency import run_at_once
from tests.hunt.factories import DAY_ONE, make_station

PARIS = ZoneInfo("Europe/Paris")
MOMENT = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)


def _stamps(db) -> list[tuple]:
    db.expire_all()
    return [(s.user_id, s.station_id, s.day, s.stamped_at, s.method, s.stamped_by_id, s.share_contact)
            for s in db.scalars(select(Stamp).order_by(Stamp.id))]


def test_second_stamp_says_when_the_first_was(db):
    user = make_attendee().user
    station = make_station()

    first = services.record_stamp(user, station, now=MOMENT, zone=PARIS, method="code")
    second = services.record_stamp(user, station, now=MOMENT + timedelta(minutes=42), zone=PARIS, method="code")
    db.commit()

    assert (first.new, first.stamped_at, second.new, second.stamped_at) == (True, MOMENT, False, MOMENT)
    assert _stamps(db) == [(user.id, station.id, DAY_ONE, MOMENT, "code", None, False)]


def test_fifty_submissions_at_once_leave_one_stamp(app, db):
    user_id = make_attendee().user_id
    station_id = make_station().id

    def submit(_: int) -> bool:
        user, station = _db.session.get(User, user_id), _db.session.get(Station, station_id)
        return services.record_stamp(user, station, now=MOMENT, zone=PARIS, method="code").new

    results = run_at_once(app, 50, submit)

    assert sorted(results) == [False] * 49 + [True]
    assert [(row[0], row[1]) for row in _stamps(db)] == [(user_id, station_id)]


def test_badge_scan_records_who_stamped_and_consent(db):
    booth = make_user(role="booth", booth_code=None)
    user = make_attendee().user
    station = make_station()

    services.record_stamp(user, station, now=MOMENT, zone=PARIS, method="badge", by=booth)
    services.record_stamp(user, station, now=MOMENT + timedelta(minutes=5), zone=PARIS, method="badge", by=booth,
                          share_contact=True)  # agreeing at a second visit counts
    db.commit()

    assert _stamps(db) == [(user.id, station.id, DAY_ONE, MOMENT, "badge", booth.id, True)]


def test_accounts_without_a_badge_cannot_stamp(db):
    staff = make_user(role="staff")
    with pytest.raises(services.HuntError) as refused:
        services.record_stamp(staff, make_station(), now=MOMENT, zone=PARIS, method="code")
    assert (refused.value.reason, str(refused.value)) == ("not_attendee", "Only attendees with a badge take part in the hunt.")
    assert _stamps(db) == []


def test_the_same_station_stamps_again_the_next_day(db):
    user = make_attendee().user
    station = make_station(days=[DAY_ONE, DAY_ONE + timedelta(days=1)])

    services.record_stamp(user, station, now=MOMENT, zone=PARIS, method="code")
    services.record_stamp(user, station, now=MOMENT + timedelta(days=1), zone=PARIS, method="code")
    db.commit()

    assert [row[2] for row in _stamps(db)] == [DAY_ONE, DAY_ONE + timedelta(days=1)]
