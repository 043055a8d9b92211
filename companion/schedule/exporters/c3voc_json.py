"""The c3voc ``schedule.json`` export, valid against ``c3voc-schedule.schema.json``.

Cancelled sessions are left out: the format has no state for an event, and players, signage and
recording tools that read it would show a cancelled talk as happening.

Choices the schema forces:
- persons are pretalx-style ``{id, guid, code, name, biography}``: a person carrying both
  ``public_name`` and ``name`` would match both ``FrabPerson`` and ``PretalxPerson``, and the
  schema wants exactly one of them;
- ``time_zone_name`` is given only when it fits the schema's pattern (``Europe/Paris`` does,
  ``Etc/GMT-2`` does not); every date carries its UTC offset anyway;
- ``type`` must be a string: a session without one gets ``""``.
"""

from __future__ import annotations

import json
from typing import Any

from companion.codes import code_number
from companion.schedule.exporters.common import (
    GENERATOR_NAME,
    NO_ROOM,
    TIMESLOT_DURATION,
    EventIdentity,
    ExportData,
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
from companion.schedule.models import Room, Track
from companion.schedule.records import ScheduledSession

SCHEMA_URL = "https://c3voc.de/schedule/schema.json"
_ZONE_PATTERN = r"([A-Z][a-z]+/[A-Z][a-z]+).*|UTC"
_SLUG_PATTERN = r"[a-z0-9_-]+[a-z0-9]"
_COLOUR_PATTERN = r"#[0-9a-fA-F]{6}"
_CODE_PATTERN = r"[A-Z0-9]+"


def render(data: ExportData) -> bytes:
    """The c3voc ``schedule.json`` document of ``data`` as UTF-8 bytes (cancelled sessions left out)."""
    return json.dumps(document(data), ensure_ascii=False, indent=1).encode("utf-8")


def document(data: ExportData) -> dict[str, Any]:
    """The c3voc ``schedule.json`` document of ``data`` as a dict (cancelled sessions left out)."""
    conference = data.conference
    identities = event_identities(data.sessions, data.acronym)
    confirmed = [s for s in data.sessions if not s.is_cancelled]
    days = group_days(data, confirmed)
    start, end = conference_span(data, days)
    body: dict[str, Any] = {
        "acronym": data.acronym,
        "title": conference.title,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "daysCount": len(days),
        "timeslot_duration": TIMESLOT_DURATION,
    }
    if fits(_ZONE_PATTERN, conference.timezone):
        body["time_zone_name"] = conference.timezone
    if is_http_url(conference.url):
        body["url"] = conference.url
    body["rooms"] = [_room(room) for room in data.rooms]
    body["tracks"] = [_track(track) for track in data.tracks]
    body["days"] = [
        {
            "index": day.index,
            "date": day.date.isoformat(),
            "day_start": day.start.isoformat(timespec="seconds"),
            "day_end": day.end.isoformat(timespec="seconds"),
            "rooms": {
                name: [_event(session, identities[session.id], data) for session in sessions]
                for name, sessions in day.rooms.items()
            },
        }
        for day in days
    ]
    return {
        "$schema": SCHEMA_URL,
        "generator": {"name": GENERATOR_NAME, "version": generator_version()},
        "schedule": {"version": str(data.schedule_version), "conference": body},
    }


def _room(room: Room) -> dict[str, Any]:
    out: dict[str, Any] = {"name": room.name, "guid": room_guid(room)}
    if fits(_SLUG_PATTERN, room.slug):
        out["slug"] = room.slug
    if room.capacity is not None:
        out["capacity"] = room.capacity
    return out


def _track(track: Track) -> dict[str, Any]:
    out: dict[str, Any] = {"name": track.name}
    if fits(_SLUG_PATTERN, track.slug):
        out["slug"] = track.slug
    if fits(_COLOUR_PATTERN, track.colour):
        out["color"] = track.colour
    return out


def _event(session: ScheduledSession, identity: EventIdentity, data: ExportData) -> dict[str, Any]:
    zone = data.zone
    event: dict[str, Any] = {
        "guid": identity.guid,
                "id": identity.id,
        "date": local_iso(session.starts_at, zone),
        "start": hhmm_start(session.starts_at, zone),
        "end": local_iso(session.ends_at, zone),
        "duration": hhmm_duration(session.starts_at, session.ends_at),
        "room": session.room.name if session.room else NO_ROOM,
        "slug": identity.slug,
        "url": data.session_url(session),
        "title": session.title,
        "subtitle": session.subtitle,
        "track": session.track.name if session.track else None,
        "type": session.type or "",
        "language": session.language,
        "abstract": session.abstract,
        "description": session.description,
        "persons": [
            {"id": code_number(speaker.code), "guid": speaker_guid(speaker), "code": speaker.code, "name": speaker.name,
             "biography": speaker.biography}
            for speaker in session.speakers
        ],
        "links": [
            {"url": link["url"], "title": link.get("title") or link["url"]}
            for link in session.links or [] if is_http_url(link.get("url"))
        ],
    }
    if fits(_CODE_PATTERN, session.code):
        event["code"] = session.code
    if is_http_url(session.url):
        event["origin_url"] = session.url
    return event
