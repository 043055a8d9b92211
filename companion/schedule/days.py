"""The conference-day rule, in one place for pages, API and exports.

A conference day runs from 04:00 to 03:59 local time: a session at 00:30 after the party belongs
to the evening before, as every schedule tool (frab, pretalx, c3voc) counts it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_START = time(4, 0)


def conference_day(moment: datetime, zone: ZoneInfo) -> date:
    """The conference day ``moment`` belongs to in ``zone`` (before 04:00 local: the day before)."""
    local = moment.astimezone(zone)
    return local.date() - timedelta(days=1) if local.time() < DAY_START else local.date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local start (04:00) and last minute (03:59 next morning) of conference day ``day``."""
    start = datetime.combine(day, DAY_START, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(3, 59), tzinfo=zone)
    return start, end


def day_range_utc(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Conference day ``day`` as a half-open UTC range ``[start, end)`` for database queries.

    :raise ValueError: for a day so far from now that it cannot be expressed (year 1 or 9999).
    """
    try:
        start = datetime.combine(day, DAY_START, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), DAY_START, tzinfo=zone).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{day.isoformat()} is out of range") from exc
    return start, end
