"""The collecting side of every importer: unique keys, the conference's zone, the warnings.

A format module reads its file and hands rooms, tracks, speakers and sessions to a
:class:`ScheduleBuilder`; the builder decides which key an event gets on a clash, what a naive
time means, which zone the conference is in, and records one warning per tolerated oddity.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from companion.schedule.importers.common import colour, int_or_none, slugify, text, web_url
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
        warnings.append(
            f"the file declares time zone {declared!r}, which the tz database does not know"
        )
    if known:
        wrong = mismatches(known)
        if not wrong:
            return known
        lbl, moment = wrong[0]
        warnings.append(
            f"the file declares time zone {known!r} but {lbl} is dated {moment.isoformat()} "
            f"({_offset_text(moment.utcoffset() or timedelta(0))}): the dates are trusted"
        )
    # iCalendar times may name their zone (a known TZID): one name for all of them is the answer.
    named = {m.tzinfo.key for _, m in evidence if isinstance(m.tzinfo, ZoneInfo)}
    if len(named) == 1 and all(isinstance(m.tzinfo, ZoneInfo) for _, m in evidence):
        return named.pop()
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
        self._reserved: set[str] = set()  # alternate keys some event could be told apart by
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
        self,
        key: str,
        name: str,
        biography: Any = None,
        organisation: Any = None,
        position: Any = None,
    ) -> str:
        """Register a speaker once by key; later mentions fill fields the first one left empty."""
        known = self.speakers.get(key)
        if known is None:
            self.speakers[key] = ParsedSpeaker(
                key=key,
                name=name,
                biography=text(biography),
                organisation=text(organisation),
                position=text(position),
            )
        else:
            known.biography = known.biography or text(biography)
            known.organisation = known.organisation or text(organisation)
            known.position = known.position or text(position)
        return key

    def claim_key(self, key: str, alternates: Iterable[str | None], label: str, what: str) -> str:
        """A unique session key: ``key``, or on a clash the first free alternate, or ``key#2``...

        An alternate is free only if no other event carries that value too (two events sharing
        guid *and* id are told apart by neither), so the fallback key still identifies one event.
        """
        others = [alt for alt in alternates if alt]
        chosen: str | None = key
        if key in self._labels:
            chosen = next(
                (a for a in others if a not in self._labels and a not in self._reserved), None
            )
            number = 2
            while chosen is None:
                chosen = f"{key}#{number}" if f"{key}#{number}" not in self._labels else None
                number += 1
            self.warn(
                f"{label}: {what} {key!r} is also used by {self._labels[key]}; "
                f"both kept, this one keyed {chosen!r}"
            )
        self._labels[chosen] = label
        self._reserved.update(others)
        return chosen

    def moment(self, value: datetime, label: str, field: str, *, evidence: bool = True) -> datetime:
        """An aware datetime from a file's time: offsets are trusted, naive times need a zone.

        :param evidence: let this time's offset count when deciding the conference zone.
        :raise ImportProblem: for a naive time when no zone was given.
        """
        if value.tzinfo is None or value.utcoffset() is None:
            if not self.override:
                raise ImportProblem(
                    f"{field} {value.isoformat()} has no time zone: {self.naive_hint}", label
                )
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
                self.warn(
                    f"{label}: listed after a later event in room {session.room!r}; sorted by time"
                )
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
        day_dates: Iterable[date | None] = (),
    ) -> ParsedSchedule:
        """The finished :class:`ParsedSchedule`: zone decided, sessions sorted by start.

        Conference dates missing from the file come from its days' dates, else the sessions.
        """
        known_days = sorted(d for d in day_dates if d)
        start_date = start_date or (known_days[0] if known_days else None)
        end_date = end_date or (known_days[-1] if known_days else None)
        zone_name = decide_zone(self.override, text(declared_zone), self._evidence, self.warnings)
        self._warn_overlaps()
        self.sessions.sort(key=lambda s: s.start)  # stable: file order among equal starts
        if self.sessions and (start_date is None or end_date is None):
            tz = ZoneInfo(zone_name)
            start_date = start_date or self.sessions[0].start.astimezone(tz).date()
            end_date = end_date or self.sessions[-1].start.astimezone(tz).date()
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
