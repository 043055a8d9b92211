"""The hunt's announcement audience: people who completed today's hunt, in the conference's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.hunt import services
from companion.push import audiences
from tests.accounts.factories import make_attendee
from tests.factories import load_schedule
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station
from tests.push.factories import make_subscription

PARIS = ZoneInfo("Europe/Paris")
MOMENT = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)


def test_completed_today_reaches_only_todays_completers_with_a_device(db):
    load_schedule()  # the conference's zone: Europe/Paris
    services.set_stamps_needed(1, now=MOMENT)
    station = make_station(days=[DAY_ONE, DAY_TWO])
    done, done_no_device, not_done = make_attendee().user, make_attendee().user, make_attendee().user
    phone = make_subscription(done)
    make_subscription(not_done)
    for person in (done, done_no_device):
        services.record_stamp(person, station, now=MOMENT, zone=PARIS, method="code")
    db.commit()

    assert audiences.get("hunt_completed_today").label == "Completed today's hunt"
    assert audiences.devices("hunt_completed_today", now=MOMENT) == [(phone.id, done.id)]
    assert audiences.count("hunt_completed_today", now=MOMENT + timedelta(days=1)) == (0, 0)
