"""Helpers every format importer shares: text clean-up, times, keys, and the schedule builder.

The format modules only know their file layout; everything that decides *how* a value becomes
part of a :class:`ParsedSchedule` (which key an event gets on a clash, what zone a naive time is
in, which oddities deserve a warning) lives here, once.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from companion.schedule.interchange import (
    ImportProblem,
    ParsedConference,
    ParsedRoom,
    ParsedSchedule,
    ParsedSession,
    ParsedSpeaker,
    ParsedTrack,
)
from companion.timeutil import is_known_zone

_DURATION = re.compile(r"^(?:(\d+):)?(\d{1,3}):(\d{2})(?::(\d{2}))?$")
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def text(value: Any) -> str | None:
    """``value`` as stripped text, or None when it is missing or blank (JSON null, "", spaces)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    result = str(value).strip()
    return result or None


def slugify(value: str) -> str:
    """A lowercase ASCII slug of ``value`` ("Saal 1 – Ö" -> "saal-1-o")."""
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
    return int(raw) if raw and raw.isdigit() else None


def web_url(value: Any) -> str | None:
    """``value`` if it is an http(s) URL, else None: other schemes (javascript:, urn:) never reach a page."""
    raw = text(value)
    if raw and urlsplit(raw).scheme.lower() in ("http", "https") and urlsplit(raw).netloc:
        return raw
    return None


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
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_datetime(value: Any, where: str, field: str) -> datetime:
    """An ISO 8601 date-time ("2020-12-14T09:00:00+01:00", "...Z", "2026-04-07 11:00"), naive or aware.

    :raise ImportProblem: if the value is not a date-time.
    """
    raw = text(value)
    try:
        return datetime.fromisoformat(raw or "")
    except ValueError:
        raise ImportProblem(f"{field} {raw!r} is not a date and time", where) from None


def parse_date(value: Any) -> date | None:
    """The calendar date of a "YYYY-MM-DD" or ISO date-time value, else None (dates are optional)."""
    raw = text(value)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        return None


def start_from_day(day_date: Any, clock: Any, day_start: datetime | None, where: str) -> datetime:
    """An event's start from its day's date and an "HH:MM" clock time, for files without ``date``.

    A conference day may run past midnight (11:00 to 04:00): a clock time before the day's start
    belongs to the next calendar date. The result carries the day start's offset, or is naive.

    :raise ImportProblem: if the date or the clock time is missing or malformed.
    """
    day = parse_date(day_date) or (day_start.date() if day_start else None)
    match = re.match(r"^(\d{1,2}):(\d{2})$", text(clock) or "")
    if day is None or not match:
        raise ImportProblem("has no start ('date', or the day's date and 'start' HH:MM)", where)
    start = datetime(day.year, day.month, day.day, int(match.group(1)), int(match.group(2)))
    if day_start is not None:
        start = start.replace(tzinfo=day_start.tzinfo)  # naive stays naive: compared like with like
        if start < day_start:
            start += timedelta(days=1)
    return start


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
        start = start_from_day(day_date, clock, first, label)
    start = builder.moment(start, label, "date")
    if text(end):
        return start, builder.moment(parse_datetime(end, label, "end"), label, "end", evidence=False)
    length = parse_duration(duration, label)
    if length is None:
        builder.warn(f"{label}: empty duration, taken as 0 minutes")
        length = timedelta(0)
    return start, start + length


def event_label(title: str | None, ident: str) -> str:
    """How a warning or an error names an event: ``event 'Opening' (guid 29ae...)``."""
    return f"event {title!r} ({ident})" if title else f"event ({ident})"


def person_key(guid: Any = None, code: Any = None, person_id: Any = None, name: Any = None) -> str | None:
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
        raise ImportProblem(f"invalid JSON: {exc.msg}", f"line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise ImportProblem("invalid JSON: nested too deeply") from None


def checked_zone(name: str | None) -> str | None:
    """The organiser's ``--timezone``, checked against the tz database.

    :raise ImportProblem: if it is given and not an IANA zone this machine knows.
    """
    if name is None:
        return None
    if not is_known_zone(name):
        raise ImportProblem(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris")
    return name


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _etc_zone(offset: timedelta) -> str | None:
    """The fixed-offset IANA zone for a whole-hour offset; the Etc names have inverted signs."""
    seconds = int(offset.total_seconds())
    if seconds == 0:
        return "UTC"
    if seconds % 3600:
        return None
    hours = seconds // 3600
    name = f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
    return name if is_known_zone(name) else None


def decide_zone(
    override: str | None,
    declared: str | None,
    evidence: list[tuple[str, datetime]],
    warnings: list[str],
) -> str:
    """The conference's IANA zone, from the organiser, the file's claim, and the dates themselves.

    ``evidence`` pairs an event label with a start time as the file wrote it (aware, with its own
    offset). Files lie about their zone (pretalx's demo says UTC with +01:00 dates), so the
    instants always follow the dates; only the *name* of the zone is decided here.
    """
    def mismatches(zone_name: str) -> list[tuple[str, datetime]]:
        tz = ZoneInfo(zone_name)
        return [(lbl, m) for lbl, m in evidence if m.astimezone(tz).utcoffset() != m.utcoffset()]

    if override:
        wrong = mismatches(override)
        if wrong:
            lbl, moment = wrong[0]
            warnings.append(
                f"{len(wrong)} event(s) carry offsets that differ from {override} at their times "
                f"(first: {lbl} at {moment.isoformat()}): the dates are trusted"
            )
        return override
    known = declared if is_known_zone(declared) else None
    if declared and not known:
        warnings.append(f"the file declares time zone {declared!r}, which the tz database does not know")
    if known:
        wrong = mismatches(known)
        if not wrong:
            return known
        lbl, moment = wrong[0]
        warnings.append(
            f"the file declares time zone {known!r} but {lbl} is dated {moment.isoformat()} "
            f"({_offset_text(moment.utcoffset() or timedelta(0))}): the dates are trusted"
        )
    offsets = {m.utcoffset() or timedelta(0) for _, m in evidence}
    if len(offsets) == 1:
        offset = offsets.pop()
        name = _etc_zone(offset)
        if name:
            warnings.append(
                f"time zone taken as {name} (UTC{_offset_text(offset)}) from the dates' offsets: "
                "pass --timezone to set the real zone"
            )
            return name
    if known:
        return known
    listed = ", ".join(sorted(_offset_text(o) for o in offsets)) or "none"
    warnings.append(
        f"no usable time zone in the file (offsets: {listed}): taken as UTC; "
        "pass --timezone to set the real zone"
    )
    return "UTC"


class ScheduleBuilder:
    """Collects rooms, tracks, speakers and sessions as a format module reads them.

    Rooms, tracks and speakers keep the order of first appearance; session keys stay unique;
    every tolerated oddity becomes one line in ``warnings``.

    :param fmt: the format name recorded on the result.
    :param timezone: the organiser's zone (``--timezone``), or None.
    :param check_order: warn about events listed out of time order within a room (for formats
        whose order means something: frab and c3voc list each room's events by time).
    """

    def __init__(self, fmt: str, timezone: str | None, *, check_order: bool = False) -> None:
        self.fmt = fmt
        self.override = checked_zone(timezone)
        self.check_order = check_order
        self.naive_hint = "pass --timezone with the conference's zone, e.g. Europe/Paris"
        self.warnings: list[str] = []
        self.rooms: dict[str, ParsedRoom] = {}
        self.tracks: dict[str, ParsedTrack] = {}
        self.speakers: dict[str, ParsedSpeaker] = {}
        self.sessions: list[ParsedSession] = []
        self._labels: dict[str, str] = {}  # session key -> label of the event that took it
        self._evidence: list[tuple[str, datetime]] = []
        self._last_in_room: dict[str | None, datetime] = {}

    def warn(self, message: str) -> None:
        """Record one tolerated oddity."""
        self.warnings.append(message)

    def add_room(self, name: Any, capacity: Any = None, building: Any = None) -> str | None:
        """Register a room once, in order of first appearance; return its name (None if blank)."""
        room_name = text(name)
        if room_name and room_name not in self.rooms:
            self.rooms[room_name] = ParsedRoom(
                name=room_name,
                building=text(building),
                capacity=int_or_none(capacity),
                position=len(self.rooms),
            )
        return room_name

    def add_track(self, name: Any, track_colour: Any = None) -> str | None:
        """Register a track once, in order of first appearance; return its name (None if blank)."""
        track_name = text(name)
        if track_name and track_name not in self.tracks:
            self.tracks[track_name] = ParsedTrack(name=track_name, colour=colour(track_colour))
        return track_name

    def add_speaker(
        self, key: str, name: str, biography: Any = None, organisation: Any = None, position: Any = None
    ) -> str:
        """Register a speaker once by key; later mentions fill fields the first one left empty."""
        known = self.speakers.get(key)
        if known is None:
            self.speakers[key] = ParsedSpeaker(
                key=key, name=name, biography=text(biography),
                organisation=text(organisation), position=text(position),
            )
        else:
            known.biography = known.biography or text(biography)
            known.organisation = known.organisation or text(organisation)
            known.position = known.position or text(position)
        return key

    def claim_key(self, key: str, alternates: Iterable[str | None], label: str, what: str) -> str:
        """A unique session key: ``key``, or on a clash the first free alternate, or ``key#2``..."""
        if key not in self._labels:
            self._labels[key] = label
            return key
        chosen = next((alt for alt in alternates if alt and alt not in self._labels), None)
        number = 2
        while chosen is None:
            chosen = f"{key}#{number}" if f"{key}#{number}" not in self._labels else None
            number += 1
        self.warn(
            f"{label}: {what} {key!r} is also used by {self._labels[key]}; "
            f"both kept, this one keyed {chosen!r}"
        )
        self._labels[chosen] = label
        return chosen

    def moment(self, value: datetime, label: str, field: str, *, evidence: bool = True) -> datetime:
        """An aware datetime from a file's time: offsets are trusted, naive times need ``--timezone``.

        :param evidence: let this time's offset count when deciding the conference zone.
        :raise ImportProblem: for a naive time when no zone was given.
        """
        if value.tzinfo is None or value.utcoffset() is None:
            if not self.override:
                raise ImportProblem(f"{field} {value.isoformat()} has no time zone: {self.naive_hint}", label)
            return value.replace(tzinfo=ZoneInfo(self.override))
        if evidence:
            self._evidence.append((label, value))
        return value

    def add_session(self, session: ParsedSession, label: str) -> None:
        """Add a session whose start/end are aware; store them in UTC and check the order."""
        session.start = session.start.astimezone(UTC)
        session.end = session.end.astimezone(UTC)
        if session.end < session.start:
            self.warn(f"{label}: ends before it starts, taken as 0 minutes")
            session.end = session.start
        if self.check_order:
            last = self._last_in_room.get(session.room)
            if last is not None and session.start < last:
                self.warn(f"{label}: listed after a later event in room {session.room!r}; sorted by time")
            self._last_in_room[session.room] = max(session.start, last or session.start)
        self.sessions.append(session)

    def _warn_overlaps(self) -> None:
        """One warning per session that starts before an earlier one in the same room has ended."""
        by_room: dict[str, list[ParsedSession]] = {}
        for session in self.sessions:
            if session.room and not session.cancelled:
                by_room.setdefault(session.room, []).append(session)
        for room, sessions in by_room.items():
            sessions.sort(key=lambda s: (s.start, s.end))
            running: ParsedSession | None = None
            for session in sessions:
                if running is not None and session.start < running.end:
                    self.warn(
                        f"{self._labels[session.key]} overlaps {self._labels[running.key]} "
                        f"in room {room!r}"
                    )
                if running is None or session.end > running.end:
                    running = session

    def finish(
        self,
        title: Any,
        acronym: Any = None,
        declared_zone: Any = None,
        start_date: date | None = None,
        end_date: date | None = None,
        url: Any = None,
    ) -> ParsedSchedule:
        """The finished :class:`ParsedSchedule`: zone decided, sessions sorted by start."""
        zone_name = decide_zone(self.override, text(declared_zone), self._evidence, self.warnings)
        self._warn_overlaps()
        self.sessions.sort(key=lambda s: s.start)  # stable: file order among equal starts
        if self.sessions and (start_date is None or end_date is None):
            tz = ZoneInfo(zone_name)
            start_date = start_date or self.sessions[0].start.astimezone(tz).date()
            end_date = end_date or max(s.end for s in self.sessions).astimezone(tz).date()
        conference_title = text(title) or ""
        conference = ParsedConference(
            title=conference_title,
            acronym=text(acronym) or slugify(conference_title),
            timezone=zone_name,
            start_date=start_date,
            end_date=end_date,
            url=web_url(url),
        )
        return ParsedSchedule(
            conference=conference,
            rooms=list(self.rooms.values()),
            tracks=list(self.tracks.values()),
            speakers=list(self.speakers.values()),
            sessions=self.sessions,
            warnings=self.warnings,
            format=self.fmt,
        )
