"""Time helpers: one clock for the whole app, and conversions between UTC and a conference zone.

Services never call ``datetime.now()`` themselves: they take ``now`` as a parameter. Views and
commands get it from :func:`now`, which tests can replace through ``app.extensions["clock"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, timezone-aware in UTC."""
    return datetime.now(UTC)


def now() -> datetime:
    """The current time of the running app (the clock in ``app.extensions``), aware, in UTC."""
    if has_app_context():
        clock: Clock = current_app.extensions.get("clock", system_clock)
        return clock()
    return system_clock()


def zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``.

    :raise ValueError: if the tz database does not know it.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "Europe" is a folder: OSError
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris") from exc


def is_known_zone(name: str | None) -> bool:
    """True if ``name`` is an IANA zone this machine's tz database knows."""
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: OSError
        return False
    return True


def as_utc(moment: datetime) -> datetime:
    """Convert an aware datetime to UTC.

    :raise ValueError: if ``moment`` is naive (a naive time has no meaning until a zone is given).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first and last instant (UTC, half-open) of the local calendar ``day`` in ``tz``."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
