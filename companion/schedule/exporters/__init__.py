"""Exports of the stored schedule: c3voc ``schedule.json``, frab ``schedule.xml``, iCalendar.

Each exporter is a pure function from :class:`~companion.schedule.exporters.common.ExportData`
to bytes; :func:`render_export` reads the data once through :mod:`companion.schedule.queries`, the
sessions as read-only :class:`~companion.schedule.records.SessionRecord` rows (cheaper than ORM objects).
The JSON and XML exports leave cancelled sessions out (those formats have no state for them);
the iCalendar export keeps them as ``STATUS:CANCELLED`` so subscribed calendars remove them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from companion.errors import Problem
from companion.schedule import queries
from companion.schedule.exporters import c3voc_json, frab_xml, ical
from companion.schedule.exporters.common import ExportData, session_url_builder


class Export(NamedTuple):
    """A format's download name, media type and renderer."""

    filename: str
    mimetype: str
    render: Callable[[ExportData], bytes]


EXPORTS: dict[str, Export] = {
    "json": Export("schedule.json", "application/json", c3voc_json.render),
    "xml": Export("schedule.xml", "application/xml", frab_xml.render),
    "ics": Export("schedule.ics", "text/calendar", ical.render),
}


def no_schedule() -> Problem:
    """The 404 problem for an export asked for before any import."""
    return Problem(404, "No schedule has been imported yet: staff import one with `companion schedule import FILE`.",
                   title="No schedule")


def load_export_data(base_url: str | None = None) -> ExportData:
    """Read the conference, rooms, tracks and every session (cancelled included) for an export.

    :param base_url: the site's public address for session URLs (see
        :func:`~companion.schedule.exporters.common.session_url_builder` for the default).
    :raise Problem: 404 if no schedule has been imported yet.
    """
    conference = queries.get_conference()
    if conference is None:
        raise no_schedule()
    rooms, tracks = queries.all_rooms(), queries.all_tracks()
    return ExportData(
        conference=conference,
        zone=queries.conference_zone(conference),
        rooms=rooms,
        tracks=tracks,
        sessions=queries.export_sessions(rooms, tracks),
        session_url=session_url_builder(base_url),
        schedule_version=conference.schedule_version,
    )


def render_export(fmt: str, base_url: str | None = None) -> bytes:
    """Render the stored schedule in ``fmt`` (``json``, ``xml`` or ``ics``).

    :param fmt: a key of :data:`EXPORTS`.
    :param base_url: the site's public address for session URLs; defaults as in
        :func:`~companion.schedule.exporters.common.session_url_builder`.
    :raise KeyError: for an unknown format.
    :raise Problem: 404 if no schedule has been imported yet.
    """
    export = EXPORTS[fmt]
    return export.render(load_export_data(base_url))
