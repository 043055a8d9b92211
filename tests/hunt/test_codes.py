"""Rotating booth codes with an injected clock: this window and the previous one, never another station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from companion.hunt import codes, services
from tests.hunt.factories import DAY_ONE, DAY_TWO, make_station
from tests.factories import load_schedule

PARIS = ZoneInfo("Europe/Paris")
# 11:00:00 in Paris on day one, the start of a 30-second window (1775552400 is divisible by 30).
MOMENT = datetime(2026, 4, 7, 9, 0, 0, tzinfo=UTC)


def _code_at(station, moment: datetime) -> str:
    return codes.rotating_code(station.code, station.secret, codes.window_of(moment))


def _refusal(text: str, now: datetime) -> str:
    with pytest.raises(services.HuntError) as refused:
        services.station_for_code(text, now=now, zone=PARIS)
    return f"{refused.value.reason}: {refused.value}"


def test_window_arithmetic():
    assert MOMENT.timestamp() % 30 == 0
    assert codes.window_of(MOMENT + timedelta(seconds=29.9)) == codes.window_of(MOMENT)
    assert codes.window_of(MOMENT + timedelta(seconds=30)) == codes.window_of(MOMENT) + 1
    assert codes.seconds_left(MOMENT + timedelta(seconds=12)) == 18


def test_code_valid_in_its_window_and_the_next_then_expired(db):
    station = make_station()
    code = _code_at(station, MOMENT)

    assert services.station_for_code(code, now=MOMENT, zone=PARIS).id == station.id
    assert services.station_for_code(code, now=MOMENT + timedelta(seconds=59), zone=PARIS).id == station.id
    assert _refusal(code, MOMENT + timedelta(seconds=60)) == "expired: This code has expired: scan the screen again."
    # a code from the future (a forged window) is no code at all
    assert _refusal(code, MOMENT - timedelta(seconds=1)).startswith("expired")


def test_a_code_of_one_station_never_stamps_another(db):
    acme, other = make_station("Acme AI"), make_station("Globex")
    code = _code_at(acme, MOMENT)
    forged = code.replace(acme.code, other.code, 1)  # the same window and MAC under another station

    assert services.station_for_code(code, now=MOMENT, zone=PARIS).id == acme.id
    assert _refusal(forged, MOMENT) == (
        "unknown: This code is not one of this conference's hunt. Scan the QR code on the booth's screen.")


@pytest.mark.parametrize("text", ["", "hello", "ACME12.123", "acme12.123.AAAAAAAAAAAAAAAA", "ACME12.1.AAAA",
                                  "https://example.org/h/ACME12", "ACME12.1.AAAAAAAAAAAAAAAA.extra"])
def test_malformed_codes(db, text):
    assert _refusal(text, MOMENT) == "malformed: This is not a hunt code. Scan the QR code on the booth's screen."


def test_a_tampered_mac_or_unknown_station_is_not_ours(db):
    station = make_station()
    code = _code_at(station, MOMENT)
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")

    assert _refusal(tampered, MOMENT).startswith("unknown:")
    assert _refusal("ZZZZ99" + code[len(station.code):], MOMENT).startswith("unknown:")


def test_a_fixed_code_works_any_time_until_the_station_rotates_again(db):
    station = make_station(mode="fixed")
    printed = codes.fixed_code(station.code, station.fixed_code)

    assert services.station_for_code(printed, now=MOMENT + timedelta(hours=3), zone=PARIS).id == station.id
    assert _refusal(_code_at(station, MOMENT), MOMENT).startswith("unknown:")  # no rotating codes meanwhile
    services.set_mode(station, "rotating", now=MOMENT)
    db.commit()
    assert _refusal(printed, MOMENT).startswith("unknown:")
    assert services.station_for_code(_code_at(station, MOMENT), now=MOMENT, zone=PARIS).id == station.id


def test_a_station_outside_todays_hunt_says_so(db):
    load_schedule()
    station = make_station("Initech", days=[DAY_TWO])
    assert _refusal(_code_at(station, MOMENT), MOMENT) == "inactive: Initech is not part of today's hunt."
    tomorrow = MOMENT + timedelta(days=1)
    assert services.station_for_code(_code_at(station, tomorrow), now=tomorrow, zone=PARIS).id == station.id


def test_the_day_ends_at_four_in_the_morning_in_the_conference_zone(db):
    station = make_station(days=[DAY_ONE])
    late = datetime(2026, 4, 8, 1, 59, tzinfo=UTC)  # 03:59 in Paris: still day one
    next_day = datetime(2026, 4, 8, 2, 0, tzinfo=UTC)  # 04:00 in Paris: day two

    assert services.station_for_code(_code_at(station, late), now=late, zone=PARIS).id == station.id
    assert _refusal(_code_at(station, next_day), next_day).startswith("inactive:")
    assert DAY_ONE.isoformat() == "2026-04-07"
