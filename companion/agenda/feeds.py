"""A person's private calendar feed (``/ical/<token>.ics``) and the one-session "add to calendar" file.

Rendering is a pure function of the starred sessions, the conference (title and zone) and the
feed's alarm setting. Events come from :func:`companion.schedule.exporters.ical.session_event`, so a
session has the same UID, SEQUENCE and shape in the personal feed, the one-session file and the
whole-schedule export: a calendar that holds it from one of them updates it from another.

Calendars poll a subscription every few minutes to every few hours, so the rendered bytes are kept
per process, keyed by everything they depend on: the feed token, the schedule version, the
fingerprint of the person's stars and the alarm setting. A poll then costs one query (the feed and
a summary of its stars, one row) plus the schedule-version check that the schedule cache shares.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar
from sqlalchemy import bindparam, func, select

from companion.agenda.models import CalendarFeed, Favourite
from companion.extensions import db
from companion.schedule.cache import Rendered
from companion.schedule.exporters.ical import REFRESH, add_timezone, session_event
from companion.schedule.models import Conference, Session
from companion.schedule.services import GUID_NAMESPACE

FEED_PRODID = "-//Conference Companion//My agenda//EN"
SESSION_PRODID = "-//Conference Companion//Session//EN"
MIMETYPE = "text/calendar"
PUBLISHED_TTL = "PT1H"
# Tokens are made by companion.accounts.tokens.new_token (43 URL-safe characters) and stored in a
# 64-character column: anything else cannot be a feed, and is answered without a query.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CACHE_ENTRIES = 512  # feeds kept per process (about 45 kB each with 40 stars, gzip included)


@dataclass(frozen=True)
class FeedOwner:
    """What one query finds behind a feed token: the owner, the feed's settings, their stars in sum."""

    user_id: int
    created_at: datetime
    alarm_minutes: int | None
    star_count: int
    star_id_sum: int
    last_starred_at: datetime | None

    @property
    def fingerprint(self) -> tuple[int, int, datetime | None]:
        """Changes whenever the set of starred sessions changes.

        Removing stars lowers the count. A changed set of the same size holds a star added since,
        whose time is later than every older star's: the latest star time moves (the id sum is a
        second guard, for a clock set back in between).
        """
        return self.star_count, self.star_id_sum, self.last_starred_at

    @property
    def changed_at(self) -> datetime:
        """When the feed was made or a star last added: a lower bound for Last-Modified."""
        return max(self.created_at, self.last_starred_at or self.created_at)


@dataclass(frozen=True)
class RenderedFeed:
    """A rendered feed (body, gzip, ETag) and its Last-Modified header (an HTTP date)."""

    rendered: Rendered
    last_modified: str


def is_possible_token(token: str) -> bool:
    """True if ``token`` has the shape of a feed token (worth a database query)."""
    return TOKEN_RE.fullmatch(token) is not None


# Built once: a poll runs it every time, and building a statement costs more than running it.
_FEED_QUERY = (
    select(CalendarFeed.user_id, CalendarFeed.created_at, CalendarFeed.alarm_minutes,
           func.count(Favourite.id), func.coalesce(func.sum(Favourite.session_id), 0), func.max(Favourite.created_at))
    .outerjoin(Favourite, Favourite.user_id == CalendarFeed.user_id)
    .where(CalendarFeed.token == bindparam("token"))
    .group_by(CalendarFeed.id)
)


def find_feed(token: str) -> FeedOwner | None:
    """The feed with ``token`` and a summary of its owner's stars, in one query (one row).

    :return: None for an unknown or replaced token.
    """
    # A connection of its own, not the ORM session: a cached poll needs nothing else from the
    # database, and the session's set-up and tear-down cost more than the query. On PostgreSQL
    # one SELECT needs no transaction: autocommit saves the BEGIN and ROLLBACK round trips
    # (half the lookup's time); SQLite's switch to autocommit costs more than it saves.
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        row = connection.execute(_FEED_QUERY, {"token": token}).first()
    return FeedOwner(*row) if row is not None else None


def calendar_name(conference: Conference | None) -> str:
    """``<conference title> — my agenda`` (the name calendars show for the subscription)."""
    return f"{conference.title} — my agenda" if conference else "My agenda"


def session_alarm(session: Session, minutes: int) -> Alarm:
    """A DISPLAY alarm ``minutes`` before ``session``: "<title> in <room>" (the title alone without a room)."""
    where = f" in {session.room.name}" if session.room else ""
    return Alarm.new_display(description=f"{session.title}{where}", trigger=timedelta(minutes=-minutes))


def _calendar(conference: Conference | None, zone: ZoneInfo, *, prodid: str, uid: uuid.UUID,
              name: str | None = None, description: str | None = None) -> Calendar:
    # A fixed UID: Calendar.new would make a random one, changing the bytes (and ETag) every render.
    calendar = Calendar.new(prodid=prodid, uid=uid, name=name, description=description, method="PUBLISH")
    calendar.add("X-WR-TIMEZONE", conference.timezone if conference else str(zone))
    return calendar


def feed_uid(token: str) -> uuid.UUID:
    """The feed calendar's UID: derived from the token (one-way), so a new address is a new calendar."""
    return uuid.uuid5(GUID_NAMESPACE, f"agenda-feed:{token}")


def render_feed(sessions: Sequence[Session], conference: Conference | None, zone: ZoneInfo,
                alarm_minutes: int | None, session_url: Callable[[Session], str], *, uid: uuid.UUID) -> bytes:
    """The personal subscription feed of ``sessions`` (cancelled ones included, as CANCELLED).

    :param sessions: the person's starred sessions, in the order to write them.
    :param conference: gives the calendar's name and zone name (None before any import).
    :param zone: the conference's zone: event times and the VTIMEZONE block.
    :param alarm_minutes: minutes before each session for a DISPLAY alarm, or None for none.
    :param session_url: a session's absolute page URL.
    :param uid: the calendar's UID (:func:`feed_uid`).
    :return: the iCalendar file as UTF-8 bytes; the same arguments always give the same bytes.
    """
    title = conference.title if conference else "the conference"
    calendar = _calendar(conference, zone, prodid=FEED_PRODID, uid=uid, name=calendar_name(conference),
                         description=f"The sessions I starred at {title}")
    # RFC 7986 wants the VALUE parameter on REFRESH-INTERVAL; X-PUBLISHED-TTL is what Outlook reads.
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", PUBLISHED_TTL)
    for session in sessions:
        event = session_event(session, zone, session_url(session))
        if alarm_minutes is not None:
            event.add_component(session_alarm(session, alarm_minutes))
        calendar.add_component(event)
    add_timezone(calendar, sessions, zone, conference)
    return calendar.to_ical()


def render_session(session: Session, conference: Conference | None, zone: ZoneInfo, url: str) -> bytes:
    """One session as an iCalendar file to open in a calendar ("add to calendar")."""
    # No calendar name: opening the file adds the event to a calendar of the person's choice
    # (some clients would make a new calendar named after the file's X-WR-CALNAME).
    uid = uuid.uuid5(GUID_NAMESPACE, f"session-file:{session.guid}")
    calendar = _calendar(conference, zone, prodid=SESSION_PRODID, uid=uid)
    calendar.add_component(session_event(session, zone, url))
    add_timezone(calendar, [session], zone, conference)
    return calendar.to_ical()


def rendered_document(version: str, body: bytes) -> Rendered:
    """``body`` with its gzip form and strong ETag, as the schedule cache keeps documents."""
    return Rendered(version=version, body=body, gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                    etag=hashlib.sha256(body).hexdigest()[:32], mimetype=MIMETYPE)


class FeedCache:
    """The rendered feed of each token, in this process; least recently polled tokens dropped first.

    One entry per token, for the state it was rendered in (schedule version, stars, alarm, host):
    a poll in another state renders anew. Kept apart from :mod:`companion.schedule.cache` (16 whole
    documents): hundreds of small personal feeds must not push the schedule exports out.
    """

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[Hashable, RenderedFeed]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, token: str, state: Hashable, render: Callable[[], RenderedFeed]) -> RenderedFeed:
        """The feed of ``token`` as rendered in ``state``, rendered now (outside the lock) if it is not."""
        with self._lock:
            found = self._entries.get(token)
            if found is not None and found[0] == state:
                self._entries.move_to_end(token)
                return found[1]
        entry = render()
        with self._lock:
            self._entries[token] = (state, entry)
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forget every feed (tests)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


feed_cache = FeedCache()
