"""The neutral form every importer produces and the sync service consumes.

Importers read a file (c3voc JSON, frab XML, iCalendar, Sched CSV/JSON) into a
:class:`ParsedSchedule`; :func:`companion.schedule.services.apply_schedule` brings the database in
line with it. Importers know nothing of the database; the service knows nothing of file formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


class ImportProblem(Exception):
    """A file that cannot be imported: what is wrong and where.

    :param message: what is wrong, in words an organiser can act on.
    :param where: where in the file (``"line 12"``, ``"event 'Opening' (guid ...)"``), if known.
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class ParsedConference:
    """The conference as the file describes it; ``timezone`` is always an IANA name."""

    title: str
    acronym: str
    timezone: str  # an IANA name the tz database knows
    start_date: date | None = None
    end_date: date | None = None
    url: str | None = None


@dataclass
class ParsedRoom:
    """A room; ``None`` for building or capacity means the file does not say (stored values stay)."""

    name: str
    building: str | None = None
    capacity: int | None = None
    position: int = 0


@dataclass
class ParsedTrack:
    """A track and its colour (``#rrggbb``) if the file gives one."""

    name: str
    colour: str | None = None  # "#rrggbb"


@dataclass
class ParsedSpeaker:
    """A speaker, identified across imports by ``key``."""

    key: str  # the source's identity of the person: guid, code, id, or the name if nothing else
    name: str
    biography: str | None = None
    organisation: str | None = None
    position: str | None = None


@dataclass
class ParsedLink:
    """A link of a session (http or https only)."""

    url: str
    title: str


@dataclass
class ParsedSession:
    """A session, identified across imports by ``key``; times are aware and in UTC."""

    key: str  # the source's identity of the event, matched on re-import
    title: str
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC, >= start
    room: str | None = None
    track: str | None = None
    type: str | None = None
    level: str | None = None
    language: str | None = None
    subtitle: str | None = None
    abstract: str | None = None
    description: str | None = None
    guid: str | None = None  # a UUID if the source has one
    external_id: int | None = None
    slug: str | None = None
    url: str | None = None
    cancelled: bool = False
    speakers: list[str] = field(default_factory=list)  # ParsedSpeaker keys, in billing order
    links: list[ParsedLink] = field(default_factory=list)


@dataclass
class ParsedSchedule:
    """Everything one file says, plus the warnings the importer raised while reading it."""

    conference: ParsedConference
    rooms: list[ParsedRoom] = field(default_factory=list)
    tracks: list[ParsedTrack] = field(default_factory=list)
    speakers: list[ParsedSpeaker] = field(default_factory=list)
    sessions: list[ParsedSession] = field(default_factory=list)
    # One line per oddity the importer tolerated, naming the event ("event 'X' (id 12): ...").
    warnings: list[str] = field(default_factory=list)
    format: str = ""
