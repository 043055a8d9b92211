"""The completion rule: N of the day's stations, every required one among them, per conference day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from companion.hunt import queries, services
from tests.accounts.factories import make_attendee
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station

PARIS = ZoneInfo("Europe/Paris")
MOMENT = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)


def _stamp(db, user, *stations, now=MOMENT) -> None:
    for station in stations:
        services.record_stamp(user, station, now=now, zone=PARIS, method="code")
    db.commit()


def _completers(day) -> list[int]:
    return [c.user_id for c in queries.completers(day)]


def test_n_of_the_days_stations_complete_it(db):
    services.set_stamps_needed(2, now=MOMENT)
    a, b, c = (make_station(n) for n in ("A", "B", "C"))
    done, almost = make_attendee().user, make_attendee().user
    _stamp(db, done, a, c)
    _stamp(db, almost, b)

    card = queries.card(done.id, DAY_ONE)
    assert (card.needed, card.stamped, card.complete) == (2, 2, True)
    assert [(e.station.name, e.stamped_at) for e in card.stations] == [("A", MOMENT), ("B", None), ("C", MOMENT)]
    assert queries.card(almost.id, DAY_ONE).complete is False
    assert _completers(DAY_ONE) == [done.id]


def test_a_required_station_must_be_among_them(db):
    services.set_stamps_needed(2, now=MOMENT)
    keynote_booth = make_station("PyTorch Foundation", required=True)
    a, b = make_station("A"), make_station("B")
    without, with_required = make_attendee().user, make_attendee().user
    _stamp(db, without, a, b)
    _stamp(db, with_required, a, keynote_booth)

    assert [s.name for s in queries.card(without.id, DAY_ONE).missing_required] == ["PyTorch Foundation"]
    assert _completers(DAY_ONE) == [with_required.id]


def test_fewer_stations_than_the_rule_means_all_of_them(db):
    services.set_stamps_needed(5, now=MOMENT)
    a, b = make_station("A"), make_station("B")
    user = make_attendee().user
    _stamp(db, user, a, b)

    assert queries.card(user.id, DAY_ONE).needed == 2
    assert _completers(DAY_ONE) == [user.id]


def test_stations_of_other_days_do_not_count_and_required_ones_only_on_their_days(db):
    services.set_stamps_needed(2, now=MOMENT)
    both = make_station("Both days", days=[DAY_ONE, DAY_TWO])
    first = make_station("Day one only")
    second_required = make_station("Day two, required", days=[DAY_TWO], required=True)
    user = make_attendee().user
    _stamp(db, user, both, first)  # day one: the required station of day two does not apply
    _stamp(db, user, both, now=MOMENT + timedelta(days=1))

    assert (_completers(DAY_ONE), _completers(DAY_TWO)) == ([user.id], [])
    assert [s.name for s in queries.card(user.id, DAY_TWO).missing_required] == ["Day two, required"]
    assert queries.completions_per_day() == [(DAY_ONE, 1), (DAY_TWO, 0)]
    assert second_required.active_days == [DAY_TWO]


def test_a_stamp_after_midnight_counts_for_the_day_before(db):
    services.set_stamps_needed(1, now=MOMENT)
    station = make_station(days=[DAY_ONE])
    user = make_attendee().user
    _stamp(db, user, station, now=datetime(2026, 4, 7, 23, 30, tzinfo=UTC))  # 01:30 in Paris on 8 April

    assert _completers(DAY_ONE) == [user.id]
    assert _completers(DAY_TWO) == []


def test_a_day_without_stations_is_never_complete(db):
    user = make_attendee().user
    assert (queries.card(user.id, DAY_TWO).complete, _completers(DAY_TWO)) == (False, [])
