"""The iCalendar export of the whole schedule, made for subscribing.

Calendar clients update a subscribed event only if its UID stays the same and its SEQUENCE
grows, and remove it only if it comes back with ``STATUS:CANCELLED``: so every session, cancelled
ones included, is written with UID :func:`session_uid` and SEQUENCE ``session.sequence``.
Times are in the conference's zone with its VTIMEZONE block from the tz database.

:func:`session_event` (an icalendar ``Event``) defines what a session looks like in every feed.
Building and serialising 1,000 such objects takes about half a second, so the whole-schedule
:func:`render` writes the events with :class:`EventWriter`, which produces the very bytes
icalendar would (tests compare them byte for byte), about ten times faster. Each render checks the
first event against icalendar's own serialisation and falls back to icalendar if they differ.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Parameters, vCalAddress
from icalendar.enums import STATUS
from icalendar.parser import Contentline
from icalendar.timezone.tzid import tzid_from_tzinfo

from companion.schedule.exporters.common import GENERATOR_NAME, ExportData
from companion.schedule.models import Conference
from companion.schedule.records import ScheduledSession, ScheduledSpeaker
from companion.schedule.services import GUID_NAMESPACE

log = logging.getLogger(__name__)

UID_DOMAIN = "conference-companion"
PRODID = f"-//{GENERATOR_NAME}//Schedule//EN"
REFRESH = timedelta(hours=1)
_END_CALENDAR = b"END:VCALENDAR\r\n"
_LINE_BREAKS = re.compile(r"[\r\n]+")


def session_uid(session: ScheduledSession) -> str:
    """The iCalendar UID of ``session``: ``<guid>@conference-companion``, the same in every feed."""
    return f"{session.guid}@{UID_DOMAIN}"


def speaker_attendee(speaker: ScheduledSpeaker) -> vCalAddress:
    """``speaker`` as an ATTENDEE: ``CN=<name>;ROLE=REQ-PARTICIPANT:urn:companion:speaker:<code>``."""
    attendee = vCalAddress(f"urn:companion:speaker:{speaker.code}")
    attendee.params["CN"] = speaker.name
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    return attendee


def _description(session: ScheduledSession, speakers: Sequence[ScheduledSpeaker]) -> str | None:
    """The abstract, then "Speakers: ...", or None if there is neither."""
    parts = (session.abstract, "Speakers: " + ", ".join(s.name for s in speakers) if speakers else None)
    return "\n\n".join(part for part in parts if part) or None


def _location(session: ScheduledSession) -> str | None:
    """``Room, Building`` (either part left out when missing), or None without a room."""
    room = session.room
    return ", ".join(part for part in (room.name, room.building) if part) if room else None


def session_event(session: ScheduledSession, zone: ZoneInfo, url: str) -> Event:
    """The VEVENT of ``session``, times in ``zone``, ``STATUS:CANCELLED`` if it is cancelled."""
    speakers = session.speakers
    event = Event.new(
        uid=session_uid(session),
        start=session.starts_at.astimezone(zone),
        end=session.ends_at.astimezone(zone),
        stamp=session.updated_at,
        last_modified=session.updated_at,
        sequence=session.sequence,
        summary=session.title,
        description=_description(session, speakers),
        location=_location(session),
        categories=[session.track.name] if session.track else (),
        url=url,
        status=STATUS.CANCELLED if session.is_cancelled else STATUS.CONFIRMED,
        attendees=[speaker_attendee(speaker) for speaker in speakers] or None,
    )
    if session.type:
        event.add("X-COMPANION-TYPE", one_line(session.type))
    if session.level:
        event.add("X-COMPANION-LEVEL", one_line(session.level))
    return event


def one_line(label: str) -> str:
    """``label`` with line breaks as spaces: icalendar writes X- properties as they are, and a line
    break there would end the content line (icalendar refuses to write it)."""
    return _LINE_BREAKS.sub(" ", label)


def _text(value: str) -> str:
    """An iCalendar TEXT value escaped as icalendar escapes it (RFC 5545 3.3.11; CR and LF as ``\\n``)."""
    return (value.replace("\\N", "\n").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> bytes:
    """``line`` as UTF-8, folded as icalendar folds: at most 74 bytes a line, never inside a character,
    and never between an escaping ``\\`` or ``^`` and the character it escapes (it moves down)."""
    data = line.encode()
    total = len(data)
    if total <= 74:
        return data
    chunks = []
    start = 0
    while total - start > 74:
        end = start + 74
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: the character starts earlier
            end -= 1
        if data[end - 1] in b"\\^" and end - 1 > start:
            end -= 1
        chunks.append(data[start:end])
        start = end
    chunks.append(data[start:])
    return b"\r\n ".join(chunks)


def _utc_stamp(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year:04}{moment.month:02}{moment.day:02}T{moment.hour:02}{moment.minute:02}{moment.second:02}Z"


class EventWriter:
    """Writes :func:`session_event` ``(session, zone, url).to_ical()``, byte for byte, without icalendar objects.

    :param zone: the conference's zone, as given to :func:`session_event`.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        tzid = tzid_from_tzinfo(zone)
        self._utc = tzid == "UTC"
        # DTSTART;TZID=Europe/Paris:... (parameters as icalendar writes them), or DTSTART:...Z in UTC.
        self._tz_param = "" if self._utc else ";" + Parameters({"TZID": tzid}).to_ical().decode()
        self._attendees: dict[int, bytes] = {}  # speaker id -> folded ATTENDEE line (speakers recur)

    def _local(self, name: str, moment: datetime) -> str:
        if self._utc:
            return f"{name}:{_utc_stamp(moment)}"
        local = moment.astimezone(self.zone)
        return (f"{name}{self._tz_param}:{local.year:04}{local.month:02}{local.day:02}"
                f"T{local.hour:02}{local.minute:02}{local.second:02}")

    def _attendee(self, speaker: ScheduledSpeaker) -> bytes:
        line = self._attendees.get(speaker.id)
        if line is None:
            attendee = speaker_attendee(speaker)
            line = self._attendees[speaker.id] = _fold(Contentline.from_parts("ATTENDEE", attendee.params, attendee))
        return line

    def event(self, session: ScheduledSession, url: str) -> bytes:
        """The VEVENT of ``session`` as icalendar serialises it (CRLF after every line)."""
        speakers = session.speakers
        stamp = _utc_stamp(session.updated_at)
        lines = [
            b"BEGIN:VEVENT",
            _fold("SUMMARY:" + _text(session.title)),
            self._local("DTSTART", session.starts_at).encode(),
            self._local("DTEND", session.ends_at).encode(),
            f"DTSTAMP:{stamp}".encode(),
            _fold("UID:" + _text(session_uid(session))),
            f"SEQUENCE:{session.sequence}".encode(),
        ]
        # The other properties in alphabetical order, as icalendar sorts them.
        lines += [self._attendee(speaker) for speaker in speakers]
        if session.track:
            lines.append(_fold("CATEGORIES:" + _text(session.track.name)))
        description = _description(session, speakers)
        if description is not None:
            lines.append(_fold("DESCRIPTION:" + _text(description)))
        lines.append(f"LAST-MODIFIED:{stamp}".encode())
        location = _location(session)
        if location is not None:
            lines.append(_fold("LOCATION:" + _text(location)))
        lines.append(b"STATUS:CANCELLED" if session.is_cancelled else b"STATUS:CONFIRMED")
        lines.append(_fold("URL:" + url))
        if session.level:  # X- properties: written as they are (see one_line)
            lines.append(_fold("X-COMPANION-LEVEL:" + one_line(session.level)))
        if session.type:
            lines.append(_fold("X-COMPANION-TYPE:" + one_line(session.type)))
        lines.append(b"END:VEVENT\r\n")
        return b"\r\n".join(lines)


def render(data: ExportData) -> bytes:
    """The whole schedule, cancelled sessions included, as an iCalendar file (UTF-8 bytes)."""
    conference = data.conference
    calendar = Calendar.new(
        prodid=PRODID,
        # A fixed UID: a random one per render would change the bytes and so the ETag.
        uid=uuid.uuid5(GUID_NAMESPACE, f"calendar:{data.acronym}"),
        name=conference.title,
        description=f"Schedule of {conference.title}",
        method="PUBLISH",
        refresh_interval=REFRESH,
    )
    calendar.add("X-WR-TIMEZONE", conference.timezone)
    calendar.add("X-PUBLISHED-TTL", "PT1H")
    if not data.sessions:
        return calendar.to_ical()
    first, *others = data.sessions
    calendar.add_component(session_event(first, data.zone, data.session_url(first)))
    # Every event is in the one conference zone, so the first event names every TZID the file uses.
    add_timezone(calendar, data.sessions, data.zone, conference)
    # The calendar with its VTIMEZONE and first event, as icalendar writes it; the other events
    # are written after it by the writer, once the writer is seen to agree on the first.
    head = calendar.to_ical()
    writer = EventWriter(data.zone)
    if not head.endswith(writer.event(first, data.session_url(first)) + _END_CALENDAR):
        log.warning("the fast iCalendar writer disagrees with icalendar on %s: rendering with icalendar", first.code)
        for session in others:
            calendar.add_component(session_event(session, data.zone, data.session_url(session)))
        return calendar.to_ical()
    events = [writer.event(session, data.session_url(session)) for session in others]
    return b"".join([head[: -len(_END_CALENDAR)], *events, _END_CALENDAR])


def add_timezone(calendar: Calendar, sessions: Sequence[ScheduledSession], zone: ZoneInfo,
                 conference: Conference | None) -> None:
    """Add the VTIMEZONE block of every zone ``calendar``'s events use (from the tz database).

    The block covers whole years, from the first to the last any of ``sessions`` (or the
    conference's dates) touches in ``zone``: small, and still showing winter and summer offsets.
    """
    years = [m.astimezone(zone).year for s in sessions for m in (s.starts_at, s.ends_at)]
    if conference is not None:
        years += [d.year for d in (conference.start_date, conference.end_date) if d]
        if not years:
            years = [conference.updated_at.astimezone(zone).year]
    if years:
        calendar.add_missing_timezones(first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1))
