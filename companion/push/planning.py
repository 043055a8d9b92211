"""Planning: turn stars, schedule changes and announcements into outbox rows.

Workers run :func:`plan_all` before every delivery pass. Planning is idempotent: each row's
dedupe key is unique per subscription, so two workers planning the same window at once, or one
planning it twice, leave one row per message (``INSERT ... ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, exists, or_, select, update

from companion.agenda.models import Favourite
from companion.database import insert_ignoring_duplicates
from companion.extensions import db
from companion.push import audiences
from companion.push.models import LEAD_MINUTES, Announcement, PlannerMark, PushMessage, PushPreferences, PushSubscription
from companion.push.services import compose, message_row, queue, withdraw_pending
from companion.schedule import queries as schedule_queries
from companion.schedule.models import Room, Session, SessionChange

# Reminders are planned this far ahead of their due time, so a worker pass every few seconds
# always has them queued before they are due.
HORIZON = timedelta(minutes=5)
# Schedule changes are read again this far behind the mark: an import that committed late (its
# rows carry the time it started) is still seen; dedupe keys make the re-read harmless.
CHANGE_OVERLAP = timedelta(minutes=15)
FIRST_CHANGE_LOOKBACK = timedelta(hours=6)
ALERT_KINDS = ("time", "room", "cancelled")
CHANGE_ALERT_TTL = timedelta(hours=12)
ANNOUNCEMENT_TTL = timedelta(hours=6)
MAX_LISTED_CHANGES = 3


@dataclass(frozen=True)
class PlanResult:
    """How many outbox rows one planning pass added (and withdrew)."""

    reminders: int = 0
    withdrawn: int = 0
    change_alerts: int = 0
    announcements: int = 0


def path_for(endpoint: str, **values: object) -> str:
    """A site-relative URL (``/sessions/AB12``) without a request: the service worker resolves it."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def _topic(code: str) -> str:
    # Topic: at most 32 characters of the URL-safe base64 alphabet; session codes already are.
    return ("session-" + "".join(c for c in code if c.isalnum() or c in "-_"))[:32]


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def plan_reminders(*, now: datetime, horizon: timedelta = HORIZON) -> int:
    """Queue a reminder for each starred session whose reminder is due before ``now + horizon``.

    One per device (dedupe key: session and start time), due ``lead`` minutes before the start,
    with the session's Topic (a newer reminder replaces an older undelivered one) and a TTL that
    ends when the session starts. Cancelled sessions, flagged devices and people who turned
    reminders off get none. :return: rows added.
    """
    zone = schedule_queries.conference_zone(schedule_queries.get_conference())
    latest_start = now + horizon + timedelta(minutes=max(LEAD_MINUTES))
    rows = db.session.execute(
        select(Favourite.user_id, PushSubscription.id, Session.id, Session.code, Session.title, Session.starts_at,
               Room.name, PushPreferences.reminders, PushPreferences.lead_minutes)
        .join(Session, Session.id == Favourite.session_id)
        .outerjoin(Room, Room.id == Session.room_id)
        .join(PushSubscription, PushSubscription.user_id == Favourite.user_id)
        .outerjoin(PushPreferences, PushPreferences.user_id == Favourite.user_id)
        .where(Session.starts_at > now, Session.starts_at <= latest_start, Session.state != "cancelled",
               PushSubscription.flagged_at.is_(None))
    ).all()
    messages = []
    for user_id, subscription_id, session_id, code, title, starts_at, room, wants, lead in rows:
        if wants is False:
            continue
        due = starts_at - timedelta(minutes=lead or 10)
        if due > now + horizon:
            continue
        where = f" in {room}" if room else ""
        payload = compose(title[:200], f"Starts at {_clock(starts_at, zone)}{where}.",
                          path_for("schedule.session", code=code), tag=_topic(code))
        messages.append(message_row(subscription_id, user_id, "reminder", f"reminder:{code}:{starts_at.isoformat()}",
                                    payload, now=now, due_at=max(due, now), expires_at=starts_at,
                                    topic=_topic(code), urgency="high", session_id=session_id,
                                    session_start=starts_at))
    return queue(messages)


def withdraw_stale_reminders(*, now: datetime) -> int:
    """Expire pending reminders that no longer apply: the session moved or was cancelled, the star
    was removed, or the person turned reminders off. :return: rows withdrawn."""
    moved_or_cancelled = exists(select(Session.id).where(
        Session.id == PushMessage.session_id,
        or_(Session.state == "cancelled", Session.starts_at != PushMessage.session_start)))
    unstarred = ~exists(select(Favourite.id).where(Favourite.user_id == PushMessage.user_id,
                                                   Favourite.session_id == PushMessage.session_id))
    turned_off = exists(select(PushPreferences.user_id).where(PushPreferences.user_id == PushMessage.user_id,
                                                             PushPreferences.reminders.is_(False)))
    return withdraw_pending(and_(PushMessage.kind == "reminder", or_(moved_or_cancelled, unstarred, turned_off)),
                            "withdrawn: the session moved or was cancelled, or the reminder is no longer wanted",
                            now=now)


def _describe(change: SessionChange, session: Session, zone: ZoneInfo) -> str:
    title = session.title if len(session.title) <= 60 else session.title[:59] + "…"
    if change.kind == "cancelled":
        return f"“{title}” is cancelled"
    if change.kind == "room":
        return f"“{title}” moved to {change.new_value or 'another room'}"
    return f"“{title}” now starts at {session.starts_at.astimezone(zone).strftime('%a %H:%M')}"


def _read_mark(name: str, default: datetime) -> datetime:
    insert_ignoring_duplicates(PlannerMark, {"name": name, "value": default}, conflict_columns=("name",))
    return db.session.scalars(select(PlannerMark.value).where(PlannerMark.name == name)).one()


def _advance_mark(name: str, value: datetime) -> None:
    # Conditional: two workers advancing at once never move the mark backwards.
    db.session.execute(update(PlannerMark).where(PlannerMark.name == name, PlannerMark.value < value)
                       .values(value=value))


def plan_change_alerts(*, now: datetime) -> int:
    """Queue one alert per person and import for starred sessions that moved or were cancelled.

    Reads the schedule's change records after the last mark (minus an overlap), groups them by
    import (the changes of one import share their time) and person, and queues one message per
    device listing up to three of that person's changed sessions. Sessions already over, stars
    made after the change and people who turned alerts off are skipped. :return: rows added.
    """
    mark = _read_mark("changes", now - FIRST_CHANGE_LOOKBACK)
    found = db.session.execute(
        select(SessionChange, Session, Favourite.user_id, PushSubscription.id, PushPreferences.change_alerts)
        .join(Session, Session.id == SessionChange.session_id)
        .join(Favourite, Favourite.session_id == Session.id)
        .join(PushSubscription, PushSubscription.user_id == Favourite.user_id)
        .outerjoin(PushPreferences, PushPreferences.user_id == Favourite.user_id)
        .where(SessionChange.changed_at > mark - CHANGE_OVERLAP, SessionChange.changed_at <= now,
               SessionChange.kind.in_(ALERT_KINDS), Session.ends_at > now, Favourite.created_at <= SessionChange.changed_at,
               PushSubscription.flagged_at.is_(None))
        .order_by(SessionChange.changed_at, Session.starts_at, SessionChange.id)
    ).all()
    zone = schedule_queries.conference_zone(schedule_queries.get_conference())
    # (import time, person) -> the changed sessions' lines, and the person's devices
    lines: dict[tuple[datetime, int], dict[int, str]] = defaultdict(dict)
    devices: dict[tuple[datetime, int], set[int]] = defaultdict(set)
    newest = mark
    for change, session, user_id, subscription_id, wants in found:
        newest = max(newest, change.changed_at)
        if wants is False:
            continue
        key = (change.changed_at, user_id)
        # One line per session: a session both moved and re-roomed is described by its latest kind.
        lines[key][session.id] = _describe(change, session, zone)
        devices[key].add(subscription_id)
    messages = []
    agenda = path_for("agenda.agenda")
    for (changed_at, user_id), by_session in lines.items():
        described = list(by_session.values())
        title = "A session you starred changed" if len(described) == 1 else f"{len(described)} sessions you starred changed"
        body = "; ".join(described[:MAX_LISTED_CHANGES])
        if len(described) > MAX_LISTED_CHANGES:
            body += f"; and {len(described) - MAX_LISTED_CHANGES} more"
        payload = compose(title, body + ".", agenda, tag="changes")
        for subscription_id in sorted(devices[(changed_at, user_id)]):
            messages.append(message_row(subscription_id, user_id, "change", f"changes:{changed_at.isoformat()}",
                                        payload, now=now, expires_at=now + CHANGE_ALERT_TTL, urgency="high"))
    added = queue(messages)
    _advance_mark("changes", min(newest, now))
    return added


def plan_announcements(*, now: datetime) -> int:
    """Turn announcements that are due into messages to their audience; each one exactly once.

    A conditional update (``planned_at IS NULL``) decides which worker plans an announcement; the
    other skips it. :return: rows added.
    """
    due = db.session.scalars(select(Announcement).where(Announcement.planned_at.is_(None), Announcement.send_at <= now)
                             .order_by(Announcement.send_at)).all()
    added = 0
    for announcement in due:
        claimed = db.session.execute(update(Announcement)
                                     .where(Announcement.id == announcement.id, Announcement.planned_at.is_(None))
                                     .values(planned_at=now).execution_options(synchronize_session=False))
        if not claimed.rowcount:
            continue
        targets = audiences.devices(announcement.audience, now=now)
        payload = compose(announcement.title, announcement.body, announcement.link or path_for("schedule.home"),
                          tag=f"announcement-{announcement.code}")
        added += queue([message_row(subscription_id, user_id, "announcement", f"announcement:{announcement.code}",
                                    payload, now=now, expires_at=now + ANNOUNCEMENT_TTL)
                        for subscription_id, user_id in targets])
        db.session.execute(update(Announcement).where(Announcement.id == announcement.id)
                           .values(recipients=len({user_id for _, user_id in targets}))
                           .execution_options(synchronize_session=False))
    return added


def plan_all(*, now: datetime) -> PlanResult:
    """One planning pass: withdraw stale reminders, then plan reminders, change alerts, announcements."""
    withdrawn = withdraw_stale_reminders(now=now)
    return PlanResult(reminders=plan_reminders(now=now), withdrawn=withdrawn,
                      change_alerts=plan_change_alerts(now=now), announcements=plan_announcements(now=now))

