"""Reads of badges and check-ins used by the pages and the API: find a badge, search by name,
count who is in."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from companion.accounts.models import Attendee, AuditEvent, User
from companion.extensions import db
from companion.timeutil import local_day_bounds

# What new_badge_token makes (22 URL-safe characters), with room for longer tokens imported
# from a registration system; the column holds 64. Anything else is not looked up at all.
BADGE_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TOKEN_LENGTH = 64
SEARCH_MIN_LENGTH = 2
SEARCH_LIMIT = 20


def is_plausible_token(token: str) -> bool:
    """True if ``token`` looks like a badge token; only such tokens are ever looked up."""
    return len(token) <= MAX_TOKEN_LENGTH and BADGE_TOKEN_PATTERN.fullmatch(token) is not None


def attendee_by_badge_token(token: str) -> Attendee | None:
    """The attendee whose current badge carries ``token``, or None.

    A token that cannot be a badge token (too long, other characters) is answered without a query.
    """
    if not is_plausible_token(token):
        return None
    return db.session.scalars(select(Attendee).where(Attendee.badge_token == token)).first()


def token_from_code(text: str) -> str:
    """The badge token in what a scanner read: the token itself or the whole ``.../b/<token>`` URL.

    Whatever is not a badge URL is returned stripped, to be looked up (and not found) as a token.
    """
    text = text.strip()
    path = urlsplit(text).path if "://" in text else text
    if "/b/" in path:
        return path.rsplit("/b/", 1)[1].strip("/")
    return text


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_attendees(text: str, limit: int = SEARCH_LIMIT) -> Sequence[Attendee]:
    """Attendees whose name or email contains ``text`` (any case), by name; at most ``limit``.

    Fewer than :data:`SEARCH_MIN_LENGTH` characters find nobody (a one-letter search would list
    half the conference).
    """
    text = " ".join(text.split())
    if len(text) < SEARCH_MIN_LENGTH:
        return []
    pattern = _like_pattern(text)
    statement = (
        select(Attendee)
        .join(User, User.id == Attendee.user_id)
        .where(or_(User.name.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\")))
        .options(selectinload(Attendee.checked_in_by))
        .order_by(func.lower(User.name), User.id)
        .limit(limit)
    )
    return db.session.scalars(statement).all()


@dataclass(frozen=True)
class HourCount:
    """Check-ins in one hour of the conference's day: ``start`` is local wall-clock time."""

    start: datetime
    count: int

    @property
    def label(self) -> str:
        """``09:00``."""
        return self.start.strftime("%H:%M")


@dataclass(frozen=True)
class CheckInStats:
    """Who is in: checked in (ever) out of registered, and today's check-ins per local hour."""

    checked_in: int
    registered: int
    day: date
    hours: list[HourCount]


def _hour_start(moment: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the local hour holding ``moment`` began."""
    local = moment.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def check_in_stats(*, now: datetime, zone: ZoneInfo) -> CheckInStats:
    """Counts for the door: checked in out of registered, and today's check-ins per hour.

    "Today" and the hours are those of ``zone`` (the conference's). The hours run from the first
    check-in of the day to the current hour, empty hours included; no check-in today, no hours.
    """
    registered, checked_in = db.session.execute(
        select(func.count(Attendee.id), func.count(Attendee.checked_in_at))
    ).one()
    day = now.astimezone(zone).date()
    start, end = local_day_bounds(day, zone)
    moments = db.session.scalars(
        select(Attendee.checked_in_at).where(Attendee.checked_in_at >= start, Attendee.checked_in_at < end)
    ).all()
    hours: list[HourCount] = []
    if moments:
        counts = Counter(_hour_start(m, zone) for m in moments)
        last = max(max(counts), _hour_start(min(now, end - timedelta(microseconds=1)), zone))
        hour = min(counts)
        while hour <= last:
            hours.append(HourCount(hour.astimezone(zone), counts.get(hour, 0)))
            hour += timedelta(hours=1)
    return CheckInStats(checked_in=int(checked_in), registered=int(registered), day=day, hours=hours)


def checked_in_by_name(attendee_id: int) -> tuple[datetime | None, str | None]:
    """When ``attendee_id`` was checked in and by whom (the staff member's name), read fresh."""
    row = db.session.execute(
        select(Attendee.checked_in_at, User.name)
        .outerjoin(User, User.id == Attendee.checked_in_by_id)
        .where(Attendee.id == attendee_id)
    ).one_or_none()
    return (row[0], row[1]) if row else (None, None)



def last_badge_reissue(attendee: Attendee) -> AuditEvent | None:
    """The audit event of the latest reissue of ``attendee``'s badge, or None if never reissued."""
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "badge.reissue", AuditEvent.subject == attendee.user.email)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()
