"""The collecting side of every importer: unique keys, the conference's zone, the warnings.

A format module reads its file and hands rooms, tracks, speakers and sessions to a
:class:`ScheduleBuilder`; the builder decides which key an event gets on a clash, what a naive
time means, which zone the conference is in, and records one warning per tolerated oddity.

It is also where every value is made to fit the database (:mod:`.limits`), whatever the format:
text is cleaned of control characters, over-long text is shortened, over-long keys are replaced
by a stable hash, integers out of their column's range are dropped, times outside the years
1900 to 2999 are refused, and local times a clock change makes ambiguous or skips are warned of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from companion.schedule.importers import limits
from companion.schedule.importers.common import clean, colour, int_or_none, slugify, text, web_url
from companion.schedule.interchange import (
    ImportProblem,
    ParsedConference,
    ParsedLink,
    ParsedRoom,
    ParsedSchedule,
    ParsedSession,
    ParsedSpeaker,
    ParsedTrack,
)
from companion.timeutil import is_known_zone as _tz_database_knows

# Instants a schedule may hold: far from datetime's limits, so converting one to any zone, or
# adding a day to it, can never overflow here, in the sync service or in a page or an export.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC)
RANGE_TEXT = "the years 1900 to 2999"
_END_FIELDS = {"end", "DTEND", "event_end"}


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def _quoted(value: str) -> str:
    """A value for a warning: quoted, and cut at 60 characters."""
    return repr(value if len(value) <= 60 else value[:59] + "…")


def is_known_zone(name: str | None) -> bool:
    """True if ``name`` is an IANA zone the tz database knows and the conference row can hold.

    A file may name anything: "Europe" is a directory of the tz database and a 300-character
    name is too long for a file name, and ``ZoneInfo`` raises OSError for both.
    """
    if not name or len(name) > limits.ZONE_NAME:
        return False
    try:
        return _tz_database_knows(name)
    except OSError:
        return False


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
            f"the file declares time zone {_quoted(declared)}, which the tz database does not know"
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
        self.declared: str | None = None  # the file's own zone name, when the tz database knows it
        self._fitted: dict[tuple[str, str], str] = {}  # (room|track, name as read) -> as stored

    def declare_zone(self, name: Any) -> None:
        """Note the zone the file names (read before its events, for :meth:`day_zone`)."""
        zone_name = text(name)
        self.declared = zone_name if is_known_zone(zone_name) else None

    def day_zone(self, day_start: datetime | None) -> ZoneInfo | None:
        """The IANA zone to read a day's clock times in, if one is known and fits the day.

        Files without an event ``date`` give a day start with an offset and "HH:MM" times; on the
        night the clocks change, the offset of the day's start is wrong for later times. The
        organiser's zone, else the file's, is used when it agrees with the day start's offset
        (a file whose offsets contradict its zone keeps its offsets: the dates are trusted).
        """
        name = self.override or self.declared
        if not name or day_start is None or day_start.utcoffset() is None:
            return None
        zone = ZoneInfo(name)
        try:
            agrees = day_start.replace(tzinfo=zone).utcoffset() == day_start.utcoffset()
        except OverflowError:
            return None
        return zone if agrees else None

    def warn(self, message: str) -> None:
        """Record one tolerated oddity."""
        self.warnings.append(message)

    def _shorten(self, value: str | None, limit: int, where: str, field: str) -> str | None:
        """``value`` within ``limit`` characters; a warning when it had to be shortened."""
        if value is None or len(value) <= limit:
            return value
        self.warn(f"{where}: {field} longer than {limit} characters, shortened")
        return limits.shorten(value, limit)

    def _fit_name(self, kind: str, name: Any, limit: int) -> str | None:
        """A room or track name as stored: cleaned, and short enough for it and its slug."""
        raw = text(name)
        if raw is None:
            return None
        fitted = self._fitted.get((kind, raw))
        if fitted is None:
            fitted = limits.fit_name(raw, limit)
            if fitted != raw:
                self.warn(
                    f"{kind} {_quoted(raw)}: name too long (at most {limit} characters, "
                    f"for its web address too), shortened to {fitted!r}"
                )
            self._fitted[(kind, raw)] = fitted
        return fitted

    def _fit_key(self, key: str, limit: int, where: str, what: str) -> str:
        """``key``, or a stable hash of it when it is longer than the column holds (warned)."""
        if len(key) <= limit:
            return key
        hashed = limits.hashed_key(key)
        self.warn(f"{where}: {what} longer than {limit} characters, keyed {hashed!r} instead")
        return hashed

    def add_room(self, name: Any, capacity: Any = None, building: Any = None) -> str | None:
        """Register a room once, in order of first appearance; return its name (None if blank)."""
        room_name = self._fit_name("room", name, limits.ROOM_NAME)
        if room_name and room_name not in self.rooms:
            where = f"room {room_name!r}"
            size = int_or_none(capacity)
            if not limits.in_range(size, limits.ROOM_CAPACITY):
                self.warn(f"{where}: capacity {size} is out of range, left out")
                size = None
            self.rooms[room_name] = ParsedRoom(
                name=room_name,
                building=self._shorten(text(building), limits.ROOM_BUILDING, where, "building"),
                capacity=size,
                position=len(self.rooms),
            )
        return room_name

    def add_track(self, name: Any, track_colour: Any = None) -> str | None:
        """Register a track once, in order of first appearance; return its name (None if blank)."""
        track_name = self._fit_name("track", name, limits.TRACK_NAME)
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
        """Register a speaker once by key; later mentions fill fields the first one left empty.

        :return: the key the speaker is stored under (a hash of ``key`` if that is too long).
        """
        name = text(name) or text(key) or "?"
        where = f"speaker {_quoted(name)}"
        key = self._fit_key(clean(key), limits.SPEAKER_KEY, where, "key")
        known = self.speakers.get(key)
        if known is None:
            self.speakers[key] = known = ParsedSpeaker(
                key=key,
                name=self._shorten(name, limits.SPEAKER_FIELDS["name"], where, "name") or name,
            )
        limit = limits.SPEAKER_FIELDS
        known.biography = known.biography or text(biography)
        known.organisation = known.organisation or self._shorten(
            text(organisation), limit["organisation"], where, "organisation"
        )
        known.position = known.position or self._shorten(
            text(position), limit["position"], where, "position"
        )
        return key

    def claim_key(self, key: str, alternates: Iterable[str | None], label: str, what: str) -> str:
        """A unique session key: ``key``, or on a clash the first free alternate, or ``key#2``...

        An alternate is free only if no other event carries that value too (two events sharing
        guid *and* id are told apart by neither), so the fallback key still identifies one event.
        """
        key = clean(key)
        others = [clean(alt) for alt in alternates if alt]
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
                f"{label}: {what} {_quoted(key)} is also used by {self._labels[key]}; "
                f"both kept, this one keyed {_quoted(chosen)}"
            )
        self._reserved.update(others)
        if len(chosen) > limits.SESSION_KEY:
            # Told apart by the full key above; the stand-in keeps it apart (a hash of it).
            self._labels[chosen] = label
            chosen = self._fit_key(chosen, limits.SESSION_KEY, label, what)
        self._labels[chosen] = label
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
            return self._local(value.replace(tzinfo=ZoneInfo(self.override)), label, field)
        if isinstance(value.tzinfo, ZoneInfo):
            value = self._local(value, label, field)
        else:
            self.check_range(value, label, field)
        if evidence:
            self._evidence.append((label, value))
        return value

    def check_range(self, value: datetime, label: str, field: str) -> datetime:
        """``value`` (aware) if it falls in the years 1900 to 2999.

        :raise ImportProblem: naming the event and the value, otherwise.
        """
        try:
            inside = EARLIEST <= value.astimezone(UTC) < LATEST
        except OverflowError:  # 0001-01-01T00:00+01:00 is before datetime.min in UTC
            inside = False
        if not inside:
            raise ImportProblem(
                f"{field} {value.isoformat()} is out of range ({RANGE_TEXT})", label
            )
        return value

    def _local(self, value: datetime, label: str, field: str) -> datetime:
        """A wall time in an IANA zone, resolved where a clock change makes it odd (warned).

        A time that happens twice (clocks go back) is taken as the first; a time that does not
        happen (clocks go forward) is moved forward by the gap, as zoneinfo reads it.
        """
        zone = value.tzinfo
        assert isinstance(zone, ZoneInfo)
        value = self.check_range(value.replace(fold=0), label, field)
        if value.utcoffset() == value.replace(fold=1).utcoffset():
            return value
        wall = value.replace(tzinfo=None)
        resolved = value.astimezone(UTC).astimezone(zone)
        what = f"{field} " if field in _END_FIELDS else ""
        at = f"{label}: {what}{_clock(wall)} on {wall:%Y-%m-%d}"
        if resolved.replace(tzinfo=None) == wall:
            self.warn(
                f"{at} happens twice in {zone.key} (clocks go back); "
                f"taken as the first, {_clock(resolved)} {resolved.tzname()}"
            )
        else:
            self.warn(
                f"{at} does not exist in {zone.key} (clocks go forward); "
                f"taken as {_clock(resolved)} {resolved.tzname()}"
            )
        return resolved

    def plus(self, start: datetime, length: timedelta, label: str, what: str) -> datetime:
        """``start + length``, the end of an event given by its duration ``what``.

        :raise ImportProblem: if that end falls outside the years 1900 to 2999.
        """
        try:
            end = start + length
            inside = EARLIEST <= end.astimezone(UTC) < LATEST
        except OverflowError:
            inside = False
        if not inside:
            raise ImportProblem(f"{what} puts the end of the event outside {RANGE_TEXT}", label)
        return end

    def _fit_session(self, session: ParsedSession, label: str) -> None:
        """Make every field of ``session`` storable: clean text, within its column (warned)."""
        for item in fields(session):
            value = getattr(session, item.name)
            if isinstance(value, str):
                setattr(session, item.name, clean(value))
        session.links = [ParsedLink(url=clean(x.url), title=clean(x.title)) for x in session.links]
        session.speakers = [clean(key) for key in session.speakers]
        session.room = self.add_room(session.room)  # no-ops for the names add_room returned
        session.track = self.add_track(session.track)
        for name, limit in limits.SESSION_TEXT.items():
            setattr(session, name, self._shorten(getattr(session, name), limit, label, name))
        if session.slug and len(session.slug) > limits.SESSION_SLUG:
            self.warn(f"{label}: slug longer than {limits.SESSION_SLUG} characters, shortened")
            session.slug = session.slug[: limits.SESSION_SLUG]
        if session.url and len(session.url) > limits.SESSION_URL:
            self.warn(f"{label}: url longer than {limits.SESSION_URL} characters, left out")
            session.url = None
        if not limits.in_range(session.external_id, limits.SESSION_EXTERNAL_ID):
            self.warn(f"{label}: id {session.external_id} is out of range, left out")
            session.external_id = None

    def add_session(self, session: ParsedSession, label: str) -> None:
        """Add a session whose start/end are aware; store them in UTC and check the order.

        :raise ImportProblem: if its start or end falls outside the years 1900 to 2999.
        """
        session.start = self.check_range(session.start, label, "start").astimezone(UTC)
        session.end = self.check_range(session.end, label, "end").astimezone(UTC)
        self._fit_session(session, label)
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

    def _date_in_range(self, value: date | None, what: str) -> bool:
        """True for a date in the years 1900 to 2999; a date outside them is warned of."""
        if value is None:
            return False
        if EARLIEST.date() <= value < LATEST.date():
            return True
        self.warn(f"{what} {value.isoformat()} is out of range ({RANGE_TEXT}), left out")
        return False

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
        known_days = sorted(d for d in day_dates if self._date_in_range(d, "a day's date"))
        start_date = start_date if self._date_in_range(start_date, "the conference start") else None
        end_date = end_date if self._date_in_range(end_date, "the conference end") else None
        start_date = start_date or (known_days[0] if known_days else None)
        end_date = end_date or (known_days[-1] if known_days else None)
        zone_name = decide_zone(self.override, text(declared_zone), self._evidence, self.warnings)
        self._warn_overlaps()
        self.sessions.sort(key=lambda s: s.start)  # stable: file order among equal starts
        if self.sessions and (start_date is None or end_date is None):
            tz = ZoneInfo(zone_name)
            start_date = start_date or self.sessions[0].start.astimezone(tz).date()
            end_date = end_date or self.sessions[-1].start.astimezone(tz).date()
        limit = limits.CONFERENCE_TEXT
        conference_title = self._shorten(text(title), limit["title"], "the conference", "title")
        conference_title = conference_title or ""
        short_name = text(acronym) or slugify(conference_title)
        conference_url = web_url(url)
        if conference_url and len(conference_url) > limits.CONFERENCE_URL:
            self.warn(
                f"the conference: url longer than {limits.CONFERENCE_URL} characters, left out"
            )
            conference_url = None
        conference = ParsedConference(
            title=conference_title,
            acronym=self._shorten(short_name, limit["acronym"], "the conference", "acronym") or "",
            timezone=zone_name,
            start_date=start_date,
            end_date=end_date,
            url=conference_url,
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
