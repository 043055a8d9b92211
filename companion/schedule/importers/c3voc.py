"""The c3voc / pretalx ``schedule.json`` (schema: shared/data/schemas/c3voc-schedule.schema.json).

Layout: ``schedule.conference.days[].rooms{name: [event, ...]}``. Real exports break the schema
in small ways (null strings, missing durations, persons in two shapes); read them leniently.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from companion.schedule.importers.builder import ScheduleBuilder
from companion.schedule.importers.common import (
    event_label,
    event_times,
    int_or_none,
    link,
    parse_date,
    person_key,
    slugify,
    text,
    uuid_or_none,
    web_url,
)
from companion.schedule.interchange import ImportProblem, ParsedLink, ParsedSchedule, ParsedSession


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ImportProblem(f"not a c3voc schedule: {what} is missing or not an object")
    return value


def _list(value: Any, what: str, items: str) -> list[Any]:
    """An optional list: missing, null or empty is no items; anything else but a list is wrong.

    :raise ImportProblem: "``what`` is 5, not a list of ``items``".
    """
    if not value:
        return []
    if not isinstance(value, list):
        raise ImportProblem(f"{what} is {_shown(value)}, not a list of {items}")
    return value


def _shown(value: Any) -> str:
    """A wrong value as the message shows it: short, and its kind when it is a container."""
    if isinstance(value, dict):
        return "an object"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def _event_key(event: dict[str, Any], index: int, builder: ScheduleBuilder) -> tuple[str, str, str]:
    """The event's key, how warnings name it, and what the key is (guid, id, slug)."""
    title = text(event.get("title"))
    guid, event_id, slug = text(event.get("guid")), text(event.get("id")), text(event.get("slug"))
    if guid:
        return guid, event_label(title, f"guid {guid}"), "guid"
    if event_id:
        return f"id:{event_id}", event_label(title, f"id {event_id}"), "id"
    if slug:
        return slug, event_label(title, f"slug {slug}"), "slug"
    label = event_label(title, f"event #{index}")
    key = f"{slugify(title or '')}@{text(event.get('date')) or index}"
    builder.warn(f"{label}: no guid, id or slug; keyed {key!r}")
    return key, label, "key"


def _speakers(persons: Any, label: str, builder: ScheduleBuilder) -> list[str]:
    """Speaker keys in billing order, from ``{public_name, id}`` or ``{name, code}`` persons."""
    keys: list[str] = []
    for person in persons if isinstance(persons, list) else []:
        if isinstance(person, str):  # not in the schema, seen in hand-made files
            person = {"name": person}
        if not isinstance(person, dict):
            continue
        name = (
            text(person.get("name"))
            or text(person.get("public_name"))
            or text(person.get("full_name"))
        )
        key = person_key(person.get("guid"), person.get("code"), person.get("id"), name)
        if not name or not key:
            builder.warn(f"{label}: a person without a name, left out")
            continue
        organisation = person.get("organization") or person.get("organisation")
        keys.append(
            builder.add_speaker(
                key, name, person.get("biography"), organisation, person.get("position")
            )
        )
    return keys


def _links(
    links: Any, base_url: str | None, label: str, builder: ScheduleBuilder
) -> list[ParsedLink]:
    result: list[ParsedLink] = []
    for item in links if isinstance(links, list) else []:
        raw = text(item.get("url")) if isinstance(item, dict) else None
        if raw:  # relative URLs are relative to the schedule's base_url
            parsed = link(
                urljoin(base_url, raw) if base_url else raw, item.get("title"), label, builder
            )
            result += [parsed] if parsed else []
    return result


def _event(
    event: dict[str, Any],
    day: dict[str, Any],
    room_name: str,
    index: int,
    base_url: str | None,
    builder: ScheduleBuilder,
) -> None:
    key, label, what = _event_key(event, index, builder)
    title = text(event.get("title"))
    if not title:
        raise ImportProblem("has no title", label)
    start, end = event_times(
        builder,
        label,
        moment=event.get("date"),
        day_date=day.get("date"),
        clock=event.get("start"),
        day_start=day.get("day_start"),
        end=event.get("end"),
        duration=event.get("duration"),
    )
    alternates = [
        f"id:{text(event.get('id'))}" if text(event.get("id")) else None,
        text(event.get("slug")),
    ]
    session = ParsedSession(
        key=builder.claim_key(key, alternates, label, what),
        title=title,
        start=start,
        end=end,
        room=builder.add_room(event.get("room") or room_name),
        track=builder.add_track(event.get("track")),
        type=text(event.get("type")),
        level=text(event.get("level")) or text(event.get("audience_level")),
        language=text(event.get("language")),
        subtitle=text(event.get("subtitle")),
        abstract=text(event.get("abstract")),
        description=text(event.get("description")),
        guid=uuid_or_none(text(event.get("guid"))),
        external_id=int_or_none(event.get("id")),
        slug=text(event.get("slug")),
        url=web_url(event.get("url")),
        cancelled=str(event.get("state", "")).lower() in ("canceled", "cancelled"),
        speakers=_speakers(event.get("persons"), label, builder),
        links=_links(event.get("links"), base_url, label, builder),
    )
    builder.add_session(session, label)


def parse_c3voc(document: Any, timezone: str | None = None) -> ParsedSchedule:
    """Read a c3voc / pretalx schedule (already parsed from JSON) into a :class:`ParsedSchedule`.

    :param timezone: the organiser's IANA zone: names the conference zone, reads naive times.
    :raise ImportProblem: if the layout is not c3voc's, an event lacks a title or a start, a time
        has no zone and none was given, or a value is malformed; the message names the event.
    """
    builder = ScheduleBuilder("c3voc-json", timezone, check_order=True)
    schedule = _mapping(_mapping(document, "the document").get("schedule"), "'schedule'")
    conference = _mapping(schedule.get("conference"), "'schedule.conference'")
    base_url = web_url(schedule.get("base_url"))
    builder.declare_zone(conference.get("time_zone_name"))
    # Declared rooms and tracks first: they carry capacity and colour, and fix the room order.
    for room in _list(conference.get("rooms"), "'schedule.conference.rooms'", "rooms"):
        if isinstance(room, dict):
            builder.add_room(room.get("name"), room.get("capacity"), room.get("building"))
    for track in _list(conference.get("tracks"), "'schedule.conference.tracks'", "tracks"):
        if isinstance(track, dict):
            builder.add_track(track.get("name"), track.get("color"))
    days = conference.get("days")
    if not isinstance(days, list):
        raise ImportProblem(
            "not a c3voc schedule: 'schedule.conference.days' is missing or not a list"
        )
    index = 0
    day_dates = []
    for day in days:
        day = _mapping(day, "a day")
        day_dates.append(parse_date(day.get("date")))
        rooms = day.get("rooms") or {}
        if not isinstance(rooms, dict):
            raise ImportProblem(
                f"day {day.get('date')}: 'rooms' is not an object of room name to events"
            )
        for room_name, events in rooms.items():
            # Skipping a room's events would cancel them on a re-import: refused instead.
            where = f"day {day.get('date')}: room {room_name!r}"
            for event in _list(events, where, "events"):
                index += 1
                if not isinstance(event, dict):
                    raise ImportProblem(f"event #{index} in room {room_name!r} is not an object")
                _event(event, day, room_name, index, base_url, builder)
    return builder.finish(
        title=conference.get("title"),
        acronym=conference.get("acronym"),
        declared_zone=conference.get("time_zone_name"),
        start_date=parse_date(conference.get("start")),
        end_date=parse_date(conference.get("end")),
        url=conference.get("url"),
        day_dates=day_dates,
    )
