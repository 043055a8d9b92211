"""iCalendar files (RFC 5545): Sched's public ``all.ics``, other tools' feeds, and our own export.

A known IANA TZID is resolved through the tz database, never through the file's VTIMEZONE
block: calendar tools write blocks with stale or wrong offsets, the tz database is the truth.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from companion.schedule.importers.builder import ScheduleBuilder, is_known_zone
from companion.schedule.importers.common import (
    event_label,
    slugify,
    text,
    web_url,
)
from companion.schedule.interchange import ImportProblem, ParsedSchedule, ParsedSession

SPEAKER_URN = "urn:companion:speaker:"  # how our own export marks a speaker's ATTENDEE line
# TZIDs that only say "UTC": instants, no hint of where the conference is.
_UTC_NAMES = {"UTC", "GMT", "Z", "ZULU", "UCT", "UNIVERSAL", "GREENWICH", "GMT0", "GMT+0", "GMT-0"}


def _all(component: icalendar.Component, name: str) -> list[Any]:
    """Every value of a property: icalendar gives one value, or a list when it repeats."""
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _one(component: icalendar.Component, name: str) -> Any:
    """The first value of a property that should appear once (a repeat is ignored)."""
    values = _all(component, name)
    return values[0] if values else None


def _first(component: icalendar.Component, name: str, label: str, builder: ScheduleBuilder) -> Any:
    values = _all(component, name)
    if len(values) > 1:
        builder.warn(f"{label}: {name} appears {len(values)} times, the first is used")
    return values[0] if values else None


def _moment(
    prop: Any, label: str, name: str, builder: ScheduleBuilder, zone: str | None
) -> datetime:
    """An aware datetime from a DTSTART / DTEND property.

    :param zone: the zone for all-day dates (the conference's), if known.
    :raise ImportProblem: for a value that is not a date-time, or a floating time without a zone.
    """
    # A value icalendar could not parse is a vBroken, whose .dt raises: treat it as no value.
    value = None if isinstance(prop, icalendar.vBroken) else getattr(prop, "dt", None)
    if isinstance(value, datetime):
        tzid = prop.params.get("TZID")
        if tzid and is_known_zone(tzid):
            # The wall time as written, in the tz database's idea of that zone.
            is_utc = tzid.upper().removeprefix("ETC/") in _UTC_NAMES
            return builder.moment(
                value.replace(tzinfo=ZoneInfo(tzid)),
                label,
                name,
                evidence=name == "DTSTART" and not is_utc,
            )
        if value.tzinfo is not None and value.utcoffset() == timedelta(0) and not tzid:
            # "...Z": an instant that says nothing of the conference's zone
            return builder.check_range(value, label, name)
        if tzid and value.tzinfo is None:
            builder.warn(
                f"{label}: unknown TZID {tzid!r} without a VTIMEZONE, read as a floating time"
            )
        return builder.moment(value, label, name, evidence=name == "DTSTART")
    if isinstance(value, date):  # an all-day entry: the whole local day
        if zone is None:
            raise ImportProblem(
                f"{name} is a date without a time and no time zone is known: pass --timezone", label
            )
        try:
            midnight = datetime.combine(value, time(0), tzinfo=ZoneInfo(zone))
        except (OverflowError, ValueError):  # icalendar may hand over a date it did not check
            raise ImportProblem(f"{name} {value!r} is not a date", label) from None
        return builder.moment(midnight, label, name, evidence=False)
    # vBroken keeps the raw text; a parsed oddity (a PERIOD, say) is shown as Python sees it.
    raw = str(prop) if isinstance(prop, icalendar.vBroken) else repr(value)
    raise ImportProblem(f"{name} {raw!r} is not a date and time", label)


def _speakers(event: icalendar.Event, builder: ScheduleBuilder) -> list[str]:
    """Speakers: our ``urn:companion:speaker:<key>`` attendees, others' CN, else the organiser."""
    keys: list[str] = []
    for attendee in _all(event, "ATTENDEE") or _all(event, "ORGANIZER"):
        address = str(attendee)
        name = text(attendee.params.get("CN")) if hasattr(attendee, "params") else None
        key = text(address[len(SPEAKER_URN) :]) if address.startswith(SPEAKER_URN) else name
        if key and key not in keys:
            keys.append(builder.add_speaker(key, name or key))
    return keys


def _event(event: icalendar.Event, index: int, zone: str | None, builder: ScheduleBuilder) -> None:
    title = text(_one(event, "SUMMARY"))
    uid = text(_one(event, "UID"))
    label = event_label(title, f"uid {uid}" if uid else f"VEVENT #{index}")
    if not title:
        raise ImportProblem("has no SUMMARY (title)", label)
    start_prop = _first(event, "DTSTART", label, builder)
    if start_prop is None:
        raise ImportProblem("has no DTSTART", label)
    start = _moment(start_prop, label, "DTSTART", builder, zone)
    end_prop, duration = _first(event, "DTEND", label, builder), _one(event, "DURATION")
    if end_prop is not None:
        end = _moment(end_prop, label, "DTEND", builder, zone)
    elif duration is not None:
        length = None if isinstance(duration, icalendar.vBroken) else getattr(duration, "dt", None)
        if not isinstance(length, timedelta):
            raw = str(duration) if isinstance(duration, icalendar.vBroken) else repr(length)
            raise ImportProblem(f"DURATION {raw!r} is not a duration", label)
        end = builder.plus(start, length, label, f"DURATION {str(duration.to_ical(), 'ascii')!r}")
    elif not isinstance(getattr(start_prop, "dt", None), datetime):
        # RFC 5545: an all-day entry without end lasts the day
        end = builder.plus(start, timedelta(days=1), label, "the all-day entry")
    else:
        builder.warn(f"{label}: neither DTEND nor DURATION, taken as 0 minutes")
        end = start
    if event.get("RRULE") is not None:
        builder.warn(f"{label}: repeats (RRULE); only the first occurrence is imported")
    key = uid or f"{slugify(title)}@{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    if not uid:
        builder.warn(f"{label}: no UID; keyed {key!r}")
    categories = [
        text(c)
        for prop in _all(event, "CATEGORIES")
        for c in ([prop] if isinstance(prop, icalendar.vBroken) else getattr(prop, "cats", [prop]))
    ]
    session = ParsedSession(
        key=builder.claim_key(key, [], label, "UID"),
        title=title,
        start=start,
        end=end,
        room=builder.add_room(_one(event, "LOCATION")),
        track=builder.add_track(next((c for c in categories if c), None)),
        type=text(_one(event, "X-COMPANION-TYPE")),
        level=text(_one(event, "X-COMPANION-LEVEL")),
        description=text(_one(event, "DESCRIPTION")),
        url=web_url(_one(event, "URL")),
        cancelled=str(_one(event, "STATUS") or "").upper() == "CANCELLED",
        speakers=_speakers(event, builder),
    )
    builder.add_session(session, label)


def parse_ical(source: str, timezone: str | None = None) -> ParsedSchedule:
    """Read an iCalendar file: each VEVENT becomes a session keyed by its UID.

    :param timezone: the organiser's IANA zone: names the conference, reads floating times.
    :raise ImportProblem: if the text is not iCalendar, an event lacks SUMMARY or DTSTART, or a
        floating time appears while no zone was given.
    """
    try:
        calendar = icalendar.Calendar.from_ical(source)
    except OSError:  # it looks TZIDs up in the tz database: "Europe" is a directory there
        raise ImportProblem(
            "not a valid iCalendar file: a TZID is not a time zone the tz database knows"
        ) from None
    except Exception as exc:  # its parser raises many exception types on hostile input
        raise ImportProblem(f"not a valid iCalendar file: {exc}") from None
    builder = ScheduleBuilder("ical", timezone)
    builder.naive_hint = (
        "it is a floating time (no TZID, no Z); pass --timezone with the conference's zone"
    )
    declared = text(calendar.get("X-WR-TIMEZONE"))
    zone = builder.override or (declared if is_known_zone(declared) else None)
    for index, event in enumerate(calendar.walk("VEVENT"), start=1):
        _event(event, index, zone, builder)
    title = text(calendar.get("X-WR-CALNAME")) or text(calendar.get("NAME"))
    return builder.finish(title=title, declared_zone=declared, url=calendar.get("URL"))
