"""The iCalendar export of the whole schedule, made for subscribing.

Calendar clients update a subscribed event only if its UID stays the same and its SEQUENCE
grows, and remove it only if it comes back with ``STATUS:CANCELLED``: so every session, cancelled
ones included, is written with UID :func:`session_uid` and SEQUENCE ``session.sequence``.
Times are in the conference's zone with its VTIMEZONE block from the tz database.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress
from icalendar.enums import STATUS

from companion.schedule.exporters.common import GENERATOR_NAME, ExportData
from companion.schedule.models import Session, Speaker
from companion.schedule.services import GUID_NAMESPACE

UID_DOMAIN = "conference-companion"
PRODID = f"-//{GENERATOR_NAME}//Schedule//EN"
REFRESH = timedelta(hours=1)


def session_uid(session: Session) -> str:
    """The iCalendar UID of ``session``: ``<guid>@conference-companion``, the same in every feed."""
    return f"{session.guid}@{UID_DOMAIN}"


def speaker_attendee(speaker: Speaker) -> vCalAddress:
    """``speaker`` as an ATTENDEE: ``CN=<name>;ROLE=REQ-PARTICIPANT:urn:companion:speaker:<code>``."""
    attendee = vCalAddress(f"urn:companion:speaker:{speaker.code}")
    attendee.params["CN"] = speaker.name
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    return attendee


def session_event(session: Session, zone: ZoneInfo, url: str) -> Event:
    """The VEVENT of ``session``, times in ``zone``, ``STATUS:CANCELLED`` if it is cancelled."""
    speakers = session.speakers
    description = "\n\n".join(
        part for part in (session.abstract, "Speakers: " + ", ".join(s.name for s in speakers) if speakers else None) if part
    )
    room = session.room
    location = ", ".join(part for part in (room.name, room.building) if part) if room else None
    event = Event.new(
        uid=session_uid(session),
        start=session.starts_at.astimezone(zone),
        end=session.ends_at.astimezone(zone),
        stamp=session.updated_at,
        last_modified=session.updated_at,
        sequence=session.sequence,
        summary=session.title,
        description=description or None,
        location=location,
        categories=[session.track.name] if session.track else (),
        url=url,
        status=STATUS.CANCELLED if session.is_cancelled else STATUS.CONFIRMED,
        attendees=[speaker_attendee(speaker) for speaker in speakers] or None,
    )
    if session.type:
        event.add("X-COMPANION-TYPE", session.type)
    if session.level:
        event.add("X-COMPANION-LEVEL", session.level)
    return event


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
    first, last = _years(data)
    for index, session in enumerate(data.sessions):
        calendar.add_component(session_event(session, data.zone, data.session_url(session)))
        if index == 0:
            # Every event is in the one conference zone, so the first event names every TZID the
            # file uses; asking after all 1,000 events would walk them all (about a second).
            # Whole years keep the block small and still show both the winter and summer offset.
            calendar.add_missing_timezones(first_date=date(first, 1, 1), last_date=date(last + 1, 1, 1))
    return calendar.to_ical()


def _years(data: ExportData) -> tuple[int, int]:
    """The first and last calendar year any session (or the conference) touches, locally."""
    moments = [m.astimezone(data.zone) for s in data.sessions for m in (s.starts_at, s.ends_at)]
    years = [m.year for m in moments]
    years += [d.year for d in (data.conference.start_date, data.conference.end_date) if d]
    if not years:
        years = [data.conference.updated_at.astimezone(data.zone).year]
    return min(years), max(years)
