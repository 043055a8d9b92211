"""What every exporter shares: the data read once, conference days, identifiers, URLs.

The c3voc JSON and frab XML exporters describe the same document in two syntaxes, so every rule
that decides a value (which conference day a session belongs to, an event's integer id and slug,
the acronym) lives here once and both call it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import metadata
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request

from companion.codes import code_number, slugify
from companion.schedule.days import conference_day, day_bounds
from companion.schedule.models import Conference, Room, Track
from companion.schedule.records import ScheduledSession, ScheduledSpeaker
from companion.schedule.services import GUID_NAMESPACE

log = logging.getLogger(__name__)

GENERATOR_NAME = "Conference Companion"
# A conference day runs from 04:00 to 03:59 the next morning (local time), as in frab and pretalx:
# the party that starts at 01:00 belongs to the day before.
SESSION_ENDPOINT = "schedule.session"
# Exports name no room for a session without one; importers read "" as "no room".
NO_ROOM = ""
LOCAL_FALLBACK_BASE = "http://localhost/"
# The grid step players draw the schedule on; 5 minutes divides every usual slot length.
TIMESLOT_DURATION = "00:05"

# c3voc schema: 4+ characters, an optional "-<year>-<suffix>" (e.g. "pytorchconf-2026-eu").
ACRONYM_RE = re.compile(r"^[a-z0-9_-][a-z0-9_]{3,}(-2[0-9]{3}-[a-z]+)?$")
_ACRONYM_SUFFIX_RE = re.compile(r"-2[0-9]{3}-[a-z]+$")
# An event slug must fit both the c3voc schema and the frab XSD's voc-slug-new.
_JSON_SLUG_RE = re.compile(r"[a-z0-9_-]+[a-z0-9]")
_XML_SLUG_RE = re.compile(r"[a-z0-9_]{4,}-[a-z0-9\-_]{4,}")
_TITLE_SLUG_LENGTH = 60


@dataclass
class ExportDay:
    """One conference day: 1-based index, local date, bounds, and sessions per room name."""

    index: int
    date: date
    start: datetime
    end: datetime
    rooms: dict[str, list[ScheduledSession]] = field(default_factory=dict)


@dataclass(frozen=True)
class EventIdentity:
    """An event's identifiers in an export: unique within the document and stable across renders."""

    id: int
    guid: str
    slug: str


@dataclass
class ExportData:
    """Everything an exporter renders, read once by :func:`load_export_data`."""

    conference: Conference
    zone: ZoneInfo
    rooms: Sequence[Room]
    tracks: Sequence[Track]
    sessions: Sequence[ScheduledSession]  # all of them, cancelled included, by start time
    session_url: Callable[[ScheduledSession], str]
    schedule_version: int

    @property
    def acronym(self) -> str:
        return sanitise_acronym(self.conference.acronym)


def generator_version() -> str:
    """The installed version of the app, for ``<generator>`` (``"0"`` when not installed)."""
    try:
        return metadata.version("conference-companion")
    except metadata.PackageNotFoundError:
        return "0"


def sanitise_acronym(acronym: str) -> str:
    """Turn ``acronym`` into one the c3voc schema accepts (the frab XSD accepts it too).

    Lowercase; characters other than ``a-z0-9_-`` become ``_``; a trailing ``-<2xxx>-<letters>``
    (``pytorchconf-2026-eu``) is kept, every other ``-`` becomes ``_`` (``testconf-2026`` ->
    ``testconf_2026``); a result shorter than 4 characters is padded with ``_`` (``rc3`` -> ``rc3_``).
    """
    text = re.sub(r"[^a-z0-9_-]", "_", acronym.strip().lower())
    if ACRONYM_RE.match(text):
        return text
    suffix_match = _ACRONYM_SUFFIX_RE.search(text)
    suffix = suffix_match.group(0) if suffix_match else ""
    head = text[: len(text) - len(suffix)].replace("-", "_").ljust(4, "_")
    return head + suffix


def fits(pattern: str, value: str | None) -> bool:
    """True if the whole of ``value`` matches ``pattern``."""
    return value is not None and re.fullmatch(pattern, value) is not None


def is_http_url(value: str | None) -> bool:
    """True for an absolute http(s) URL without spaces (what both schemas call a URI)."""
    if not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)



def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` in ``zone`` as ISO 8601 with its offset, to the second (``2026-04-07T09:00:00+02:00``)."""
    return moment.astimezone(zone).isoformat(timespec="seconds")


def hhmm_start(moment: datetime, zone: ZoneInfo) -> str:
    """The local clock time of ``moment`` as ``HH:MM``."""
    return moment.astimezone(zone).strftime("%H:%M")


def hhmm_duration(start: datetime, end: datetime) -> str:
    """``end - start`` as ``H:MM`` hours and minutes (``01:30``), at most ``99:59`` (the XSD's limit)."""
    minutes = min(int((end - start).total_seconds()) // 60, 99 * 60 + 59)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def group_days(data: ExportData, sessions: Sequence[ScheduledSession]) -> list[ExportDay]:
    """Group ``sessions`` into conference days, every room listed each day in room order.

    The days are every date from the conference's start to its end, plus any other day a session
    falls on; a document with no dates and no sessions still gets one day (the XSD needs one).
    """
    by_day: dict[date, list[ScheduledSession]] = {}
    for session in sessions:
        by_day.setdefault(conference_day(session.starts_at, data.zone), []).append(session)
    dates = set(by_day)
    conference = data.conference
    if conference.start_date and conference.end_date and conference.start_date <= conference.end_date:
        span = (conference.end_date - conference.start_date).days
        dates.update(conference.start_date + timedelta(days=n) for n in range(span + 1))
    if not dates:
        dates.add(conference.start_date or conference_day(conference.updated_at, data.zone))
    room_names = [room.name for room in data.rooms]
    if any(session.room is None for session in sessions):
        room_names.append(NO_ROOM)
    days = []
    for index, day in enumerate(sorted(dates), start=1):
        start, end = day_bounds(day, data.zone)
        rooms: dict[str, list[ScheduledSession]] = {name: [] for name in room_names}
        for session in sorted(by_day.get(day, []), key=lambda s: (s.starts_at, s.ends_at, s.id)):
            rooms[session.room.name if session.room else NO_ROOM].append(session)
        days.append(ExportDay(index=index, date=day, start=start, end=end, rooms=rooms))
    return days


def conference_span(data: ExportData, days: Sequence[ExportDay]) -> tuple[date, date]:
    """The conference's first and last date: as stored, else those of the first and last day."""
    return data.conference.start_date or days[0].date, data.conference.end_date or days[-1].date


def event_identities(sessions: Sequence[ScheduledSession], acronym: str) -> dict[int, EventIdentity]:
    """Integer id, UUID and slug of every session (keyed by database id), each unique.

    Computed over all sessions, cancelled ones included, so a cancellation does not renumber others.

    - id: the source's integer id when it is >= 1 and no other session has it; else the number
      of the session's public code (:func:`companion.codes.code_number`; moved up by 1,000,000,000
      steps in the rare case a source id already took it). Database ids are never published.
    - guid: the stored UUID (unique in the database).
    - slug: the stored slug if it fits both schemas and no earlier session has it; else
      ``<acronym with _>-<id>-<title slug>``, which fits both and is unique through the id.
    """
    ordered = sorted(sessions, key=lambda s: s.id)
    external_counts = Counter(s.external_id for s in ordered if s.external_id and s.external_id >= 1)
    ids: dict[int, int] = {
        s.id: s.external_id for s in ordered if s.external_id and external_counts[s.external_id] == 1
    }
    taken = set(ids.values())
    for session in ordered:
        if session.id not in ids:
            candidate = code_number(session.code)
            while candidate in taken:
                candidate += 1_000_000_000
            ids[session.id] = candidate
            taken.add(candidate)

    prefix = acronym.replace("-", "_")
    identities: dict[int, EventIdentity] = {}
    slugs: set[str] = set()
    for session in ordered:
        slug = session.slug or ""
        if not (_JSON_SLUG_RE.fullmatch(slug) and _XML_SLUG_RE.fullmatch(slug)) or slug in slugs:
            title = slugify(session.title, "session")[:_TITLE_SLUG_LENGTH].rstrip("-")
            slug = f"{prefix}-{ids[session.id]}-{title}"
        slugs.add(slug)
        identities[session.id] = EventIdentity(id=ids[session.id], guid=session.guid, slug=slug)
    return identities


def speaker_guid(speaker: ScheduledSpeaker) -> str:
    """A UUID for ``speaker``, derived from their public code (stable for this deployment)."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"speaker:{speaker.code}"))


def room_guid(room: Room) -> str:
    """A UUID for ``room``, derived from its name (rooms are matched by name on import)."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"room:{room.name}"))


def session_url_builder(base_url: str | None = None) -> Callable[[ScheduledSession], str]:
    """A function giving a session's absolute page URL under the site's public address.

    The address is the first of: ``base_url``; the ``PUBLIC_URL`` setting; the current request's
    root URL; ``SERVER_NAME``. Without any (a CLI export), ``http://localhost/`` is used and a
    warning logged, because the exports need absolute URLs to stay valid.

    :raise ValueError: if ``base_url`` is not an absolute http(s) URL.
    """
    config = current_app.config
    base = base_url or config.get("PUBLIC_URL")
    if not base and has_request_context():
        base = request.url_root
    if not base and config.get("SERVER_NAME"):
        base = f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}{config.get('APPLICATION_ROOT') or '/'}"
    if not base:
        log.warning("no public address known (set COMPANION_PUBLIC_URL): session URLs use %s", LOCAL_FALLBACK_BASE)
        base = LOCAL_FALLBACK_BASE
    if not is_http_url(base):
        raise ValueError(f"base URL {base!r} is not an absolute http(s) URL such as https://companion.example.org/")
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)

    def session_url(session: ScheduledSession) -> str:
        return adapter.build(SESSION_ENDPOINT, {"code": session.code}, force_external=True)

    return session_url
