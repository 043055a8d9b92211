"""The frab ``schedule.xml`` export, valid against ``frab-schedule.xml.xsd``.

Cancelled sessions are left out: the format has no state for an event, and the players and
signage that read it would show a cancelled talk as happening.

Built with ElementTree, never by joining strings, so titles with ``<`` or ``&`` stay text.
Characters XML 1.0 cannot carry (control characters from a pasted abstract) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from companion.codes import code_number
from companion.schedule.exporters.common import (
    GENERATOR_NAME,
    NO_ROOM,
    TIMESLOT_DURATION,
    EventIdentity,
    ExportData,
    ExportDay,
    conference_span,
    event_identities,
    fits,
    generator_version,
    group_days,
    hhmm_duration,
    hhmm_start,
    is_http_url,
    local_iso,
    room_guid,
    speaker_guid,
)
from companion.schedule.records import ScheduledSession

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TRACK_SLUG_PATTERN = r"[a-z][a-z0-9-]+"  # the XSD's ``slug`` type
_COLOUR_PATTERN = r"#[0-9a-fA-F]{6}"
_CODE_PATTERN = r"[0-9A-Z]{6}"  # the XSD's pretalx-random-code


def render(data: ExportData) -> bytes:
    """The frab ``schedule.xml`` document of ``data`` as UTF-8 bytes (cancelled sessions left out)."""
    root = ET.Element("schedule")
    ET.SubElement(root, "generator", name=GENERATOR_NAME, version=generator_version())
    _text(root, "version", str(data.schedule_version))
    identities = event_identities(data.sessions, data.acronym)
    days = group_days(data, [s for s in data.sessions if not s.is_cancelled])
    _conference(root, data, days)
    rooms_by_name = {room.name: room for room in data.rooms}
    for day in days:
        day_element = ET.SubElement(
            root, "day", index=str(day.index), date=day.date.isoformat(),
            start=day.start.isoformat(timespec="seconds"), end=day.end.isoformat(timespec="seconds"),
        )
        for name, sessions in day.rooms.items():
            room_element = ET.SubElement(day_element, "room", name=_clean(name))
            room = rooms_by_name.get(name)
            if room is not None:
                room_element.set("guid", room_guid(room))
            for session in sessions:
                _event(room_element, session, identities[session.id], data)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _clean(text: str | None) -> str:
    return _NOT_XML.sub("", text or "")


def _text(parent: ET.Element, tag: str, text: str | None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = _clean(text)
    return element


def _conference(root: ET.Element, data: ExportData, days: list[ExportDay]) -> None:
    conference = data.conference
    element = ET.SubElement(root, "conference")
    _text(element, "acronym", data.acronym)
    _text(element, "title", conference.title)
    start, end = conference_span(data, days)
    _text(element, "start", start.isoformat())
    _text(element, "end", end.isoformat())
    _text(element, "days", str(len(days)))
    _text(element, "timeslot_duration", TIMESLOT_DURATION)
    if is_http_url(conference.url):
        _text(element, "url", conference.url)
    _text(element, "time_zone_name", conference.timezone)
    for track in data.tracks:
        track_element = _text(element, "track", track.name, name=_clean(track.name))
        if fits(_COLOUR_PATTERN, track.colour):
            track_element.set("color", track.colour or "")
        if fits(_TRACK_SLUG_PATTERN, track.slug):
            track_element.set("slug", track.slug)


def _event(parent: ET.Element, session: ScheduledSession, identity: EventIdentity, data: ExportData) -> None:
    zone = data.zone
    event = ET.SubElement(parent, "event", guid=identity.guid, id=str(identity.id))
    if fits(_CODE_PATTERN, session.code):
        event.set("code", session.code)
    _text(event, "date", local_iso(session.starts_at, zone))
    _text(event, "start", hhmm_start(session.starts_at, zone))
    _text(event, "duration", hhmm_duration(session.starts_at, session.ends_at))
    _text(event, "room", session.room.name if session.room else NO_ROOM)
    _text(event, "slug", identity.slug)
    _text(event, "url", data.session_url(session))
    if is_http_url(session.url):
        _text(event, "origin_url", session.url)
    _text(event, "title", session.title)
    _text(event, "subtitle", session.subtitle)
    _text(event, "track", session.track.name if session.track else "")
    _text(event, "type", session.type)
    _text(event, "language", session.language)
    _text(event, "abstract", session.abstract)
    _text(event, "description", session.description)
    persons = ET.SubElement(event, "persons")
    for speaker in session.speakers:
        _text(persons, "person", speaker.name, id=str(code_number(speaker.code)), guid=speaker_guid(speaker))
    links = ET.SubElement(event, "links")
    for link in session.links or []:
        if is_http_url(link.get("url")):
            _text(links, "link", link.get("title") or link["url"], href=_clean(link["url"]))
