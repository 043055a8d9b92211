"""How the schedule pages list sessions: conference days, time slots, filters, search, now/next.

Plain functions over sessions, a zone and ``now``: no database, no request, so every rule is
unit-tested on its own (tests/schedule/test_listing.py).

The day rule (04:00 to 03:59 local) is :mod:`companion.schedule.days`, shared with the API and
the exporters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from itertools import groupby
from zoneinfo import ZoneInfo

from companion.schedule.days import conference_day
from companion.schedule.models import Session

# Local time at which one conference day ends and the next begins.
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class Filters:
    """What the attendee asked to see. Empty values mean "no filter"."""

    room: str | None = None  # room slug
    track: str | None = None  # track slug
    type: str | None = None
    level: str | None = None
    q: str = ""
    hide_past: bool = False

    @property
    def active(self) -> bool:
        """True if any filter narrows the list."""
        return bool(self.room or self.track or self.type or self.level or self.q or self.hide_past)

    def as_params(self) -> dict[str, str]:
        """The filters as query parameters (empty ones left out), for links that keep them."""
        params = {"room": self.room, "track": self.track, "type": self.type, "level": self.level, "q": self.q}
        result = {name: value for name, value in params.items() if value}
        if self.hide_past:
            result["hide_past"] = "1"
        return result


@dataclass
class Slot:
    """The sessions that start at one moment, in room order."""

    starts_at: datetime
    sessions: list[Session] = field(default_factory=list)


@dataclass
class NowNext:
    """Sessions running at ``now``, and the sessions of the next slot after it."""

    now: list[Session]
    next: list[Session]

    @property
    def next_starts_at(self) -> datetime | None:
        """When the next slot starts, if there is one."""
        return self.next[0].starts_at if self.next else None


@dataclass(frozen=True)
class Link:
    """A link a session carries (slides, video, ...), known to be http(s)."""

    url: str
    title: str



def conference_days(
    sessions: Iterable[Session], tz: ZoneInfo, start: date | None = None, end: date | None = None
) -> list[date]:
    """Every day of the conference: ``start`` to ``end`` (if given) and every day with a session."""
    days = {conference_day(s.starts_at, tz) for s in sessions}
    if start and end and start <= end:
        days.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return sorted(days)


def default_day(days: Sequence[date], now: datetime, tz: ZoneInfo) -> date | None:
    """Today if it is a conference day, else the first day (None if there are no days)."""
    today = conference_day(now, tz)
    if today in days:
        return today
    return days[0] if days else None


def is_on(days: Sequence[date], now: datetime, tz: ZoneInfo) -> bool:
    """True if ``now`` falls on one of the conference ``days``."""
    return conference_day(now, tz) in days


def sessions_on(sessions: Iterable[Session], day: date, tz: ZoneInfo) -> list[Session]:
    """The sessions of conference day ``day``, in the order given."""
    return [s for s in sessions if conference_day(s.starts_at, tz) == day]


def has_ended(session: Session, now: datetime) -> bool:
    """True once the session is over (an ongoing session has not ended)."""
    return session.ends_at <= now


def _search_text(session: Session) -> str:
    parts = [session.title, session.abstract or ""] + [speaker.name for speaker in session.speakers]
    return " ".join(parts).casefold()


def matches_query(session: Session, q: str) -> bool:
    """True if every word of ``q`` occurs (any case) in the title, abstract or speaker names."""
    words = q.casefold().split()
    if not words:
        return True
    text = _search_text(session)
    return all(word in text for word in words)


def matches(session: Session, filters: Filters, now: datetime) -> bool:
    """True if ``session`` passes every filter in ``filters`` at ``now``."""
    if filters.room and (session.room is None or session.room.slug != filters.room):
        return False
    if filters.track and (session.track is None or session.track.slug != filters.track):
        return False
    if filters.type and session.type != filters.type:
        return False
    if filters.level and session.level != filters.level:
        return False
    if filters.hide_past and has_ended(session, now):
        return False
    return matches_query(session, filters.q)


def filter_sessions(sessions: Iterable[Session], filters: Filters, now: datetime) -> list[Session]:
    """The sessions that pass ``filters`` at ``now``, in the order given."""
    return [s for s in sessions if matches(s, filters, now)]


def _room_order(session: Session) -> tuple[int, int, str, str]:
    room = session.room
    if room is None:  # sessions without a room come after the rooms
        return (1, 0, "", session.title.casefold())
    return (0, room.position, room.name.casefold(), session.title.casefold())


def group_into_slots(sessions: Iterable[Session]) -> list[Slot]:
    """Group sessions by start time: one :class:`Slot` per moment, slots in time order,
    sessions within a slot in room order then by title. (Slots are instants: no zone needed;
    pick the day first with :func:`sessions_on`.)"""
    ordered = sorted(sessions, key=lambda s: s.starts_at)
    return [
        Slot(starts_at=moment, sessions=sorted(group, key=_room_order))
        for moment, group in groupby(ordered, key=lambda s: s.starts_at)
    ]


def group_by_day(sessions: Iterable[Session], tz: ZoneInfo) -> list[tuple[date, list[Session]]]:
    """Sessions by conference day, days and sessions in time order."""
    ordered = sorted(sessions, key=lambda s: (s.starts_at, _room_order(s)))
    return [(day, list(group)) for day, group in groupby(ordered, key=lambda s: conference_day(s.starts_at, tz))]


def count_by_day(sessions: Iterable[Session], tz: ZoneInfo) -> dict[date, int]:
    """How many of ``sessions`` fall on each conference day, days in order."""
    counts: dict[date, int] = {}
    for day in sorted(conference_day(s.starts_at, tz) for s in sessions):
        counts[day] = counts.get(day, 0) + 1
    return counts


def now_and_next(sessions: Iterable[Session], now: datetime) -> NowNext:
    """What runs at ``now`` and what starts next (the earliest later start). Cancelled sessions
    are left out: they run neither now nor next."""
    live = [s for s in sessions if not s.is_cancelled]
    running = sorted((s for s in live if s.starts_at <= now < s.ends_at), key=lambda s: (s.starts_at, _room_order(s)))
    later = [s for s in live if s.starts_at > now]
    if not later:
        return NowNext(now=running, next=[])
    first = min(s.starts_at for s in later)
    return NowNext(now=running, next=sorted((s for s in later if s.starts_at == first), key=_room_order))


def distinct_values(sessions: Iterable[Session], attribute: str) -> list[str]:
    """The distinct non-empty values of ``attribute`` (``"type"``, ``"level"``), sorted."""
    return sorted({value for s in sessions if (value := getattr(s, attribute))}, key=str.casefold)


def zone_label(tz: ZoneInfo, at: datetime) -> str:
    """``"Europe/Paris (CEST)"``: the zone's name and its abbreviation at ``at``."""
    abbreviation = at.astimezone(tz).tzname() or ""
    name = str(tz.key)
    return f"{name} ({abbreviation})" if abbreviation and abbreviation != name else name


def safe_links(links: Iterable[dict[str, object]] | None) -> list[Link]:
    """The session's links that point at http(s) URLs (a ``javascript:`` link is dropped)."""
    result = []
    for link in links or []:
        url = str(link.get("url") or "").strip()
        if re.match(r"https?://", url, re.IGNORECASE):
            result.append(Link(url=url, title=str(link.get("title") or url)))
    return result


_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table"}


class _TextExtractor(HTMLParser):
    """Source HTML to text: tags dropped, entities decoded, block elements become paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def paragraphs(text: str | None) -> list[str]:
    """Split a description into plain-text paragraphs (blank lines separate them).

    Imported descriptions may carry HTML and entities: tags are dropped and entities decoded, so
    the template escapes plain text and never renders source HTML.
    """
    if not text:
        return []
    if re.search(r"<[a-zA-Z/!]|&[#a-zA-Z0-9]+;", text):
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = "".join(extractor.parts)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    result = []
    for block in re.split(r"\n\s*\n", text):
        lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in block.split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            result.append(paragraph)
    return result
