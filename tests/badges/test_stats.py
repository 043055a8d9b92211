"""The door's live count: checked in out of registered, and today's check-ins per hour in the
conference's time zone (Europe/Paris), as numbers, JSON and an SVG chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from companion.badges.charts import hourly_bar_chart
from companion.badges.queries import CheckInStats, HourCount, check_in_stats
from companion.extensions import db as _db
from tests.accounts.factories import make_attendee, sign_in
from tests.badges.support import PARIS, paris

SVG = "{http://www.w3.org/2000/svg}"


def _checked_in(moments: list[datetime | None], staff) -> None:
    """One attendee per moment, checked in then by ``staff`` (None: registered, not in yet)."""
    for n, moment in enumerate(moments):
        attendee = make_attendee(email=f"person{n:02d}@example.org", name=f"Person {n:02d}")
        attendee.checked_in_at = moment
        attendee.checked_in_by_id = staff.id if moment else None
    _db.session.commit()


MOMENTS = [
    paris(2026, 4, 6, 23, 59, 59),  # yesterday, Paris time (21:59:59 UTC): in the total only
    paris(2026, 4, 7, 9, 0),        # 09:00-09:59 Paris: 2
    paris(2026, 4, 7, 9, 59, 59),
    datetime(2026, 4, 7, 8, 0, tzinfo=UTC),   # 10:00 Paris: 10:00-10:59 has 3
    paris(2026, 4, 7, 10, 30),
    paris(2026, 4, 7, 10, 59),
    None,                           # registered, not here yet
]


def test_per_hour_counts_are_in_conference_hours(db, conference, door):
    _checked_in(MOMENTS, door)

    stats = check_in_stats(now=paris(2026, 4, 7, 11, 15), zone=PARIS)

    assert stats == CheckInStats(checked_in=6, registered=7, day=date(2026, 4, 7), hours=[
        HourCount(paris(2026, 4, 7, 9), 2), HourCount(paris(2026, 4, 7, 10), 3), HourCount(paris(2026, 4, 7, 11), 0),
    ])
    assert [(h.label, h.count) for h in stats.hours] == [("09:00", 2), ("10:00", 3), ("11:00", 0)]
    assert [h.start.utcoffset().total_seconds() for h in stats.hours] == [7200.0] * 3


def test_per_hour_counts_skip_the_hour_lost_to_summer_time(db, conference, door):
    # 29 March 2026, Paris: 02:00 CET becomes 03:00 CEST; there is no 02:00 hour.
    _checked_in([datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)], door)

    stats = check_in_stats(now=datetime(2026, 3, 29, 1, 45, tzinfo=UTC), zone=PARIS)

    assert [(h.label, h.count) for h in stats.hours] == [("01:00", 1), ("03:00", 1)]


def test_no_check_ins_today_no_hours(db, conference, door):
    _checked_in([paris(2026, 4, 6, 18, 0), None], door)

    assert check_in_stats(now=paris(2026, 4, 7, 8, 0), zone=PARIS) == CheckInStats(
        checked_in=1, registered=2, day=date(2026, 4, 7), hours=[])


def test_chart_has_a_bar_and_a_label_per_hour():
    hours = [HourCount(paris(2026, 4, 7, 9), 2), HourCount(paris(2026, 4, 7, 10), 4), HourCount(paris(2026, 4, 7, 11), 0)]

    root = ET.fromstring(hourly_bar_chart(hours))

    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#16325c"]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert root.get("aria-label") == "Check-ins per hour today: 09:00: 2, 10:00: 4, 11:00: 0."
    assert [float(b.get("height")) for b in bars] == [70.0, 140.0, 0.0]  # the tallest fills the plot
    assert texts == ["2", "09:00", "4", "10:00", "11:00"]


def test_chart_without_check_ins_says_so():
    root = ET.fromstring(hourly_bar_chart([]))

    assert [t.text for t in root.iter(f"{SVG}text")] == ["No check-ins yet today"]
    assert root.find(f"{SVG}title").text == "Check-ins per hour today: none yet."


def test_stats_api_and_page_and_chart(client, conference, door, clock):
    _checked_in(MOMENTS, door)
    clock.set(paris(2026, 4, 7, 11, 15))
    sign_in(client, door)

    api = client.get("/api/v1/check-ins/stats")
    page = client.get("/staff/check-in").text
    chart = client.get("/staff/check-in/chart.svg")

    assert (api.status_code, api.json) == (200, {
        "checked_in": 6, "registered": 7, "day": "2026-04-07", "chart_url": "/staff/check-in/chart.svg",
        "per_hour": [
            {"hour": "09:00", "start": "2026-04-07T09:00:00+02:00", "count": 2},
            {"hour": "10:00", "start": "2026-04-07T10:00:00+02:00", "count": 3},
            {"hour": "11:00", "start": "2026-04-07T11:00:00+02:00", "count": 0},
        ],
    })
    assert ('<p class="stats-count"><strong data-stat="checked_in">6</strong> of '
            '<span data-stat="registered">7</span> registered attendees checked in</p>') in page
    assert ('<img data-stats-chart src="/staff/check-in/chart.svg?v=6-3" width="340" height="190" '
            'alt="Check-ins per hour today: 09:00: 2, 10:00: 3, 11:00: 0.">') in page
    assert "Check-ins per hour today (Tue 7 Apr), in Europe/Paris time." in page
    assert (chart.status_code, chart.mimetype, chart.headers["Cache-Control"]) == (200, "image/svg+xml", "no-store")
    assert ET.fromstring(chart.text).get("aria-label") == "Check-ins per hour today: 09:00: 2, 10:00: 3, 11:00: 0."


def test_stats_api_is_for_staff(client, ada):
    anonymous = client.get("/api/v1/check-ins/stats")
    sign_in(client, ada.user)
    attendee = client.get("/api/v1/check-ins/stats")

    assert (anonymous.status_code, attendee.status_code) == (401, 403)
