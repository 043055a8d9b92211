"""Value helpers every format importer shares: text clean-up, ids, URLs, durations and times.

The format modules only know their file layout; how a raw value becomes a clean one (a blank
string None, "HH:MM" a duration, a bare domain a link) is decided here, once. The collecting side
(keys, zones, warnings) is :mod:`companion.schedule.importers.builder`.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from companion.schedule.interchange import ImportProblem, ParsedLink

if TYPE_CHECKING:
    from companion.schedule.importers.builder import ScheduleBuilder

_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,3}):(\d{2})(?::(\d{2}))?$", re.ASCII)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$", re.ASCII)
# C0 and C1 control characters but \t and \n (\r is made \n first), and the lone surrogates a
# JSON "\ud800" escape yields: PostgreSQL refuses NUL, and no database stores a lone surrogate.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LABEL_TITLE, _LABEL_IDENT = 120, 100  # how much of a title or an id a label quotes
_BARE_DOMAIN = re.compile(r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/\S*)?$", re.IGNORECASE)
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def clean(value: str) -> str:
    """``value`` with LF line ends, without control characters (but tab and newline), and with
    lone surrogates replaced by U+FFFD: text every database stores as it is."""
    result = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _SURROGATE.sub("\ufffd", result)


def text(value: Any) -> str | None:
    """``value`` as stripped, :func:`clean` text; None when missing or blank (null, "", " ")."""
    if value is None or isinstance(value, (dict, list)):
        return None
    result = clean(str(value)).strip()
    return result or None


def slugify(value: str) -> str:
    """A lowercase ASCII slug of ``value`` ("Saal 1, Köln" -> "saal-1-koln")."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def uuid_or_none(value: str | None) -> str | None:
    """``value`` in canonical UUID form if it is a UUID, else None (frab guids may be any text)."""
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def int_or_none(value: Any) -> int | None:
    """``value`` as an int if it is one (or a string of digits), else None; booleans are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    raw = text(value)
    if not (raw and raw.isascii() and raw.isdigit()):  # "²".isdigit() is True, int("²") fails
        return None
    try:
        return int(raw)
    except ValueError:  # over Python's 4300 digits: no column holds it anyway
        return None


def web_url(value: Any) -> str | None:
    """``value`` if it is an http(s) URL, else None: javascript:, urn: etc. never reach a page."""
    raw = text(value)
    if raw and urlsplit(raw).scheme.lower() in ("http", "https") and urlsplit(raw).netloc:
        return raw
    return None


def link(url: Any, title: Any, label: str, builder: ScheduleBuilder) -> ParsedLink | None:
    """A :class:`ParsedLink` for an http(s) URL; a bare "www.example.org" gets "http://" (warned).

    Anything else (javascript:, mailto:, relative paths) is left out with a warning.
    """
    raw = text(url)
    if raw is None:
        return None
    result = web_url(raw)
    if result is None and _BARE_DOMAIN.match(raw):
        result = f"http://{raw}"
        builder.warn(f"{label}: link {raw!r} has no scheme, taken as {result!r}")
    if result is None:
        builder.warn(f"{label}: link {raw!r} is not an http(s) URL, left out")
        return None
    return ParsedLink(url=result, title=text(title) or result)


def colour(value: Any) -> str | None:
    """A "#rrggbb" colour from "#rgb", "#rrggbb" or the same without "#", else None."""
    match = _COLOUR.match(text(value) or "")
    if not match:
        return None
    digits = match.group(1).lower()
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))


def parse_duration(value: Any, where: str) -> timedelta | None:
    """A frab / c3voc duration ("HH:MM", "H:MM:SS", "D:HH:MM:SS"); None when empty.

    :raise ImportProblem: if the value is not empty and not a duration.
    """
    raw = text(value)
    if raw is None:
        return None
    match = _DURATION.match(raw)
    if not match:
        raise ImportProblem(f"duration {raw!r} is not HH:MM", where)
    first, second, third, fourth = match.groups()
    if fourth is not None:  # three or four parts: [D:]H:MM:SS
        days, hours, minutes, seconds = int(first or 0), int(second), int(third), int(fourth)
    elif first is not None:  # three parts are H:MM:SS (frab never writes days without seconds)
        days, hours, minutes, seconds = 0, int(first), int(second), int(third)
    else:
        days, hours, minutes, seconds = 0, int(second), int(third), 0
    try:
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:  # over 999999999 days
        raise ImportProblem(f"duration {raw!r} is too long", where) from None


def parse_datetime(value: Any, where: str, field: str) -> datetime:
    """An ISO 8601 date-time ("2020-12-14T09:00:00+01:00", "...Z", "2026-04-07 11:00").

    Naive or aware, as written.

    :raise ImportProblem: if the value is not a date-time.
    """
    raw = text(value)
    try:
        return datetime.fromisoformat(raw or "")
    except ValueError:
        raise ImportProblem(f"{field} {raw!r} is not a date and time", where) from None


def parse_date(value: Any) -> date | None:
    """The calendar date of a "YYYY-MM-DD" or ISO date-time value, else None (it is optional)."""
    raw = text(value)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        return None


def start_from_day(
    day_date: Any,
    clock: Any,
    day_start: datetime | None,
    where: str,
    zone: tzinfo | None = None,
) -> datetime:
    """An event's start from its day's date and an "HH:MM" clock time, for files without ``date``.

    A conference day may run past midnight (11:00 to 04:00): a clock time before the day's start
    belongs to the next calendar date. The result is local time in ``zone`` (the conference's
    IANA zone, so a time after a clock change gets the offset it has then), else carries the day
    start's offset, else is naive.

    :raise ImportProblem: if the date or the clock time is missing or malformed.
    """
    day = parse_date(day_date) or (day_start.date() if day_start else None)
    match = _CLOCK.match(text(clock) or "")
    if day is None or not match:
        raise ImportProblem("has no start ('date', or the day's date and 'start' HH:MM)", where)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ImportProblem(f"start {text(clock)!r} is not a time of day (00:00 to 23:59)", where)
    start = datetime(day.year, day.month, day.day, hour, minute)
    if day_start is None:
        return start
    try:
        if start < day_start.replace(tzinfo=None):  # wall clock against wall clock
            start += timedelta(days=1)
    except OverflowError:
        raise ImportProblem(
            f"start {day.isoformat()} {text(clock)} is out of range", where
        ) from None
    return start.replace(tzinfo=zone or day_start.tzinfo)


def event_times(
    builder: ScheduleBuilder,
    label: str,
    *,
    moment: Any,
    day_date: Any = None,
    clock: Any = None,
    day_start: Any = None,
    end: Any = None,
    duration: Any = None,
) -> tuple[datetime, datetime]:
    """Aware start and end of a frab / c3voc event.

    The start is ``moment`` (the event's ISO ``date``), else the day's date with the ``clock``
    time; the end is ``end`` if given, else start + ``duration`` (empty: 0 minutes, warned).

    :raise ImportProblem: for a missing or malformed start, a malformed end or duration, or a
        time without a zone when no ``--timezone`` was given.
    """
    if text(moment):
        start = parse_datetime(moment, label, "date")
    else:  # pentabarf-era exports: only the day and a clock time
        first = parse_datetime(day_start, label, "day start") if text(day_start) else None
        start = start_from_day(day_date, clock, first, label, builder.day_zone(first))
    start = builder.moment(start, label, "date")
    if text(end):
        return start, builder.moment(
            parse_datetime(end, label, "end"), label, "end", evidence=False
        )
    length = parse_duration(duration, label)
    if length is None:
        builder.warn(f"{label}: empty duration, taken as 0 minutes")
        length = timedelta(0)
    return start, builder.plus(start, length, label, f"duration {text(duration)!r}")


def event_label(title: str | None, ident: str) -> str:
    """How a warning or an error names an event: ``event 'Opening' (guid 29ae...)``.

    A very long title or id is quoted in part ("…"): the label is for finding the event.
    """
    ident = ident if len(ident) <= _LABEL_IDENT else ident[: _LABEL_IDENT - 1] + "…"
    if not title:
        return f"event ({ident})"
    quoted = title if len(title) <= _LABEL_TITLE else title[: _LABEL_TITLE - 1] + "…"
    return f"event {quoted!r} ({ident})"


def person_key(
    guid: Any = None, code: Any = None, person_id: Any = None, name: Any = None
) -> str | None:
    """The stable identity of a person: guid, else code, else "id:<id>", else the name."""
    if text(guid):
        return text(guid)
    if text(code):
        return text(code)
    if text(person_id):
        return f"id:{text(person_id)}"
    return text(name)


def load_json(source: str) -> Any:
    """Parse JSON text.

    :raise ImportProblem: naming line and column of the first error.
    """
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise ImportProblem(
            f"invalid JSON: {exc.msg}", f"line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise ImportProblem("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # a number over Python's 4300 digits for int()
        raise ImportProblem(f"invalid JSON: {str(exc).split(':')[0]}") from None
