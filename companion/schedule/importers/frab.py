"""The frab / pentabarf ``schedule.xml`` (schema: shared/data/schemas/frab-schedule.xml.xsd).

Layout: ``schedule > day > room > event``. Parsed with defusedxml only: an uploaded file may
declare entities (billion laughs) or external references, and those are refused, not expanded.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from companion.schedule.importers.builder import ScheduleBuilder
from companion.schedule.importers.common import (
    event_label,
    event_times,
    int_or_none,
    link,
    parse_date,
    person_key,
    text,
    uuid_or_none,
    web_url,
)
from companion.schedule.interchange import ImportProblem, ParsedLink, ParsedSchedule, ParsedSession


def parse_xml(source: str) -> Element:
    """The root element of XML text, safely.

    :raise ImportProblem: for entity declarations or external references (refused for safety)
        and for malformed XML (naming line and column).
    """
    try:
        return SafeET.fromstring(source)
    except EntitiesForbidden:
        raise ImportProblem("the XML declares entities (DTD); refused for safety") from None
    except (DTDForbidden, ExternalReferenceForbidden):
        raise ImportProblem(
            "the XML refers to an external DTD or entity; refused for safety"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        # ParseError's text ends with its own position; the where says it once.
        reason = str(exc).split(":")[0]
        raise ImportProblem(
            f"malformed XML: {reason}", f"line {line}, column {column + 1}"
        ) from None


def _child(element: Element, tag: str) -> str | None:
    """The stripped text of a *direct* child: newer exports nest <title> inside <link> too."""
    return text(element.findtext(tag))


def _speakers(event: Element, label: str, builder: ScheduleBuilder) -> list[str]:
    keys: list[str] = []
    for person in event.iterfind("persons/person"):
        name = text(person.text) or _child(person, "name") or _child(person, "public_name")
        key = person_key(person.get("guid"), person.get("code"), person.get("id"), name)
        if not name or not key:
            builder.warn(f"{label}: a person without a name, left out")
            continue
        keys.append(builder.add_speaker(key, name, _child(person, "biography")))
    return keys


def _links(event: Element, label: str, builder: ScheduleBuilder) -> list[ParsedLink]:
    result: list[ParsedLink] = []
    for item in event.iterfind("links/link"):
        # The title is the link's text, or a nested <title> in newer exports.
        parsed = link(item.get("href"), text(item.text) or _child(item, "title"), label, builder)
        result += [parsed] if parsed else []
    return result


def _event(
    event: Element,
    room_name: str | None,
    day_date: str | None,
    day_start: str | None,
    index: int,
    builder: ScheduleBuilder,
) -> None:
    title = _child(event, "title")
    guid, event_id, slug = text(event.get("guid")), text(event.get("id")), _child(event, "slug")
    if guid:
        key, what, label = guid, "guid", event_label(title, f"guid {guid}")
    elif event_id:
        key, what, label = f"id:{event_id}", "id", event_label(title, f"id {event_id}")
    else:
        raise ImportProblem(
            "has neither a guid nor an id attribute", event_label(title, f"event #{index}")
        )
    if not title:
        raise ImportProblem("has no <title>", label)
    start, end = event_times(
        builder,
        label,
        moment=_child(event, "date"),
        day_date=day_date,
        clock=_child(event, "start"),
        day_start=day_start,
        duration=_child(event, "duration"),
    )
    alternates = [f"id:{event_id}" if event_id else None, slug]
    session = ParsedSession(
        key=builder.claim_key(key, alternates, label, what),
        title=title,
        start=start,
        end=end,
        room=builder.add_room(_child(event, "room") or room_name),
        track=builder.add_track(_child(event, "track")),
        type=_child(event, "type"),
        level=_child(event, "level") or _child(event, "audience_level"),
        language=_child(event, "language"),
        subtitle=_child(event, "subtitle"),
        abstract=_child(event, "abstract"),
        description=_child(event, "description"),
        guid=uuid_or_none(guid),
        external_id=int_or_none(event_id),
        slug=slug,
        url=web_url(_child(event, "url")),
        speakers=_speakers(event, label, builder),
        links=_links(event, label, builder),
    )
    builder.add_session(session, label)


def parse_frab(source: str, timezone: str | None = None) -> ParsedSchedule:
    """Read a frab / pentabarf schedule.xml into a :class:`ParsedSchedule`.

    :param timezone: the organiser's IANA zone: names the conference zone, reads naive times.
    :raise ImportProblem: for unsafe or malformed XML, a root other than <schedule>, an event
        without a title, an id or a start, a time without a zone when none was given.
    """
    root = parse_xml(source)
    if root.tag != "schedule":
        raise ImportProblem(f"the XML root is <{root.tag}>, not a frab/pentabarf <schedule>")
    builder = ScheduleBuilder("frab-xml", timezone, check_order=True)
    conference = root.find("conference")
    if conference is None:
        raise ImportProblem("not a frab schedule: <conference> is missing")
    builder.declare_zone(_child(conference, "time_zone_name"))
    for track in conference.iterfind("track"):
        builder.add_track(track.get("name") or track.text, track.get("color"))
    index = 0
    day_dates = []
    for day in root.iterfind("day"):
        day_date = text(day.get("date"))
        day_dates.append(parse_date(day_date))
        day_start = text(day.get("start"))
        for room in day.iterfind("room"):
            for event in room.iterfind("event"):
                index += 1
                _event(event, text(room.get("name")), day_date, day_start, index, builder)
    return builder.finish(
        title=_child(conference, "title"),
        acronym=_child(conference, "acronym"),
        declared_zone=_child(conference, "time_zone_name"),
        start_date=parse_date(_child(conference, "start")),
        end_date=parse_date(_child(conference, "end")),
        url=_child(conference, "url") or _child(conference, "base_url"),
        day_dates=day_dates,
    )
