"""Planning a personal agenda: overlaps, free time, walking between buildings, change notes.

Plain functions over sessions, walking times, a zone and ``now``: no database, no request, so every
rule is unit-tested on its own (tests/agenda/test_planning.py).

The rules
    Overlap
        Two sessions overlap when each starts before the other ends (``a.start < b.end`` and
        ``b.start < a.end``): a talk ending at 10:30 and one starting at 10:30 *touch*, they do not
        overlap. Times are instants (UTC), so a session from 23:30 to 00:30 overlaps one at 00:15
        whatever the calendar date says. Cancelled sessions overlap nothing: they will not run.
    Free time
        Within one conference day (04:00 to 03:59, :mod:`companion.schedule.days`), sessions are
        taken in start order; the session before a given one is the earlier session that ends
        last (so a long workshop holding a short talk counts as "before" the next talk). If the
        next session starts after it ends, the difference is free time ("45 min free").
    Leave by
        When two consecutive sessions (as above, not overlapping) are in different buildings and
        a walking time ``W`` is known for that pair, and the free time ``G`` is shorter than
        ``W`` plus :data:`SLACK` (5 minutes), the agenda says "leave by ``T``" where
        ``T = next start − W``: the latest moment that gets you there on time. When ``T`` is
        before the first session's end (``G < W``), the hint says so: you must leave early.
        Walking times of 0 minutes, unknown pairs and sessions without a building give no hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from companion.schedule.days import conference_day
from companion.schedule.listing import NowNext, now_and_next

SLACK = timedelta(minutes=5)

WalkingTimes = Mapping[frozenset[str], int]


class PlannedRoom(Protocol):
    name: str
    building: str | None


class PlannedSession(Protocol):
    """What planning needs of a session (a :class:`companion.schedule.models.Session` fits)."""

    code: str
    title: str
    starts_at: datetime
    ends_at: datetime
    room: PlannedRoom | None

    @property
    def is_cancelled(self) -> bool: ...


@dataclass(frozen=True)
class Walk:
    """Getting from one building to the next session's building in time."""

    minutes: int
    from_building: str
    to_building: str
    leave_by: datetime
    early: bool  # leave_by is before the previous session ends


@dataclass(frozen=True)
class Transition:
    """What lies between the previous session and this one: free time, and maybe a walk."""

    previous: PlannedSession
    free: timedelta
    walk: Walk | None


@dataclass
class Entry:
    """One starred session on the agenda, with what the agenda has to say about it."""

    session: PlannedSession
    overlaps: list[PlannedSession] = field(default_factory=list)
    before: Transition | None = None


@dataclass
class AgendaDay:
    """One conference day of the agenda."""

    day: date
    entries: list[Entry]


@dataclass
class Plan:
    """The whole agenda: days in order, and what runs now and next among the starred sessions."""

    days: list[AgendaDay]
    now_next: NowNext

    @property
    def overlap_count(self) -> int:
        """How many starred sessions overlap at least one other."""
        return sum(1 for day in self.days for entry in day.entries if entry.overlaps)


def overlaps(a: PlannedSession, b: PlannedSession) -> bool:
    """True if ``a`` and ``b`` run at the same time for some moment (touching is not overlapping)."""
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def find_overlaps(sessions: Iterable[PlannedSession]) -> dict[int, list[PlannedSession]]:
    """For each session (keyed by ``id()``), the other sessions it overlaps, by start time.

    Cancelled sessions are left out on both sides.
    """
    live = sorted((s for s in sessions if not s.is_cancelled), key=lambda s: (s.starts_at, s.ends_at, s.code))
    found: dict[int, list[PlannedSession]] = {id(s): [] for s in live}
    for i, first in enumerate(live):
        for second in live[i + 1:]:
            if second.starts_at >= first.ends_at:
                break  # sorted by start: nothing later can overlap ``first``
            if overlaps(first, second):
                found[id(first)].append(second)
                found[id(second)].append(first)
    for others in found.values():
        others.sort(key=lambda s: (s.starts_at, s.code))
    return found


def _building(session: PlannedSession) -> str | None:
    building = session.room.building if session.room is not None else None
    return building.strip() if building and building.strip() else None


def walk_between(previous: PlannedSession, following: PlannedSession, walking: WalkingTimes) -> Walk | None:
    """The "leave by" hint for going from ``previous`` to ``following`` (see the module rules), or None."""
    start, end = _building(previous), _building(following)
    if start is None or end is None or start == end:
        return None
    minutes = walking.get(frozenset((start, end)))
    free = following.starts_at - previous.ends_at
    if not minutes or free < timedelta(0) or free >= timedelta(minutes=minutes) + SLACK:
        return None
    leave_by = following.starts_at - timedelta(minutes=minutes)
    return Walk(minutes=minutes, from_building=start, to_building=end, leave_by=leave_by,
                early=leave_by < previous.ends_at)


def transitions(sessions: Sequence[PlannedSession], walking: WalkingTimes) -> dict[int, Transition]:
    """For each session of one day (keyed by ``id()``) that follows another without overlapping it:
    the free time since the previous one ended, and the walking hint. Cancelled sessions are skipped."""
    live = sorted((s for s in sessions if not s.is_cancelled), key=lambda s: (s.starts_at, s.ends_at, s.code))
    found: dict[int, Transition] = {}
    latest: PlannedSession | None = None
    for session in live:
        if latest is not None and session.starts_at >= latest.ends_at:
            found[id(session)] = Transition(previous=latest, free=session.starts_at - latest.ends_at,
                                            walk=walk_between(latest, session, walking))
        if latest is None or session.ends_at > latest.ends_at:
            latest = session
    return found


def plan_agenda(sessions: Iterable[PlannedSession], walking: WalkingTimes, zone: ZoneInfo, now: datetime) -> Plan:
    """Arrange starred ``sessions`` by conference day and time, with overlaps, free time and walks.

    :param walking: minutes between two buildings, keyed by the pair as a frozenset.
    :param zone: the conference's zone (it decides which day a session belongs to).
    :param now: for "now and next".
    """
    ordered = sorted(sessions, key=lambda s: (s.starts_at, s.ends_at, s.code))
    overlapping = find_overlaps(ordered)
    by_day: dict[date, list[PlannedSession]] = {}
    for session in ordered:
        by_day.setdefault(conference_day(session.starts_at, zone), []).append(session)
    days = []
    for day, day_sessions in by_day.items():
        between = transitions(day_sessions, walking)
        days.append(AgendaDay(day=day, entries=[
            Entry(session=s, overlaps=overlapping.get(id(s), []), before=between.get(id(s))) for s in day_sessions
        ]))
    return Plan(days=days, now_next=now_and_next(ordered, now))  # type: ignore[arg-type]


def describe_duration(span: timedelta) -> str:
    """``45 min``, ``1 h``, ``2 h 15 min`` (whole minutes, rounded down)."""
    minutes = max(0, int(span.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


# --- what changed in a starred session -------------------------------------------------------


class RecordedChange(Protocol):
    """A :class:`companion.schedule.models.SessionChange` (or anything shaped like one)."""

    kind: str
    old_value: str | None
    new_value: str | None
    changed_at: datetime


def _span_start_end(value: str | None) -> tuple[datetime, datetime] | None:
    if not value or "/" not in value:
        return None
    first, _, second = value.partition("/")
    try:
        return datetime.fromisoformat(first), datetime.fromisoformat(second)
    except ValueError:
        return None


def _clock(moment: datetime, zone: ZoneInfo, with_day: bool) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}" if with_day else f"{local:%H:%M}"


def _describe_time(old: str | None, new: str | None, zone: ZoneInfo) -> str | None:
    before, after = _span_start_end(old), _span_start_end(new)
    if before is None or after is None:
        return "time changed"
    if before[0] != after[0]:
        with_day = conference_day(before[0], zone) != conference_day(after[0], zone)
        return f"moved from {_clock(before[0], zone, with_day)} to {_clock(after[0], zone, with_day)}"
    if before[1] != after[1]:
        return f"now ends at {_clock(after[1], zone, False)} (was {_clock(before[1], zone, False)})"
    return None


def describe_changes(changes: Iterable[RecordedChange], zone: ZoneInfo) -> list[str]:
    """Short notes on what changed, one per kind, from the first old value to the last new one.

    ``["moved from 10:00 to 10:30", "room changed to Junior Stage (was Master Stage)", "cancelled"]``.
    A time moved and moved back says nothing; cancelled then restored says "back on the schedule".
    """
    ordered = sorted(changes, key=lambda c: c.changed_at)
    first: dict[str, RecordedChange] = {}
    last: dict[str, RecordedChange] = {}
    for change in ordered:
        kind = "state" if change.kind in ("cancelled", "restored") else change.kind
        first.setdefault(kind, change)
        last[kind] = change
    notes: list[str] = []
    if "time" in first:
        note = _describe_time(first["time"].old_value, last["time"].new_value, zone)
        if note:
            notes.append(note)
    if "room" in first:
        old, new = first["room"].old_value, last["room"].new_value
        if old != new and new:
            notes.append(f"room changed to {new}" + (f" (was {old})" if old else ""))
        elif old != new:
            notes.append("no room any more")
    if "title" in first and first["title"].old_value != last["title"].new_value:
        notes.append(f"renamed (was “{first['title'].old_value}”)")
    if "state" in last:
        notes.append("cancelled" if last["state"].kind == "cancelled" else "back on the schedule")
    if "details" in last:
        fields = sorted({name.strip() for c in ordered if c.kind == "details" for name in (c.new_value or "").split(",") if name.strip()})
        notes.append("details updated" + (f": {', '.join(fields)}" if fields else ""))
    return notes
