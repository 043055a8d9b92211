"""Read-only records of sessions and speakers, for the whole-schedule exports.

An export reads every session, and building 1,000 ORM objects with their rooms, tracks and speaker
links cost more than writing the export itself (in ``bench/feeds.py``, a 55-70 ms read against
20-30 ms from Core rows, for a render of about 25 ms). The
exporters only read, so :func:`companion.schedule.queries.export_sessions` builds these plain
records from Core rows instead. They carry the attributes of :class:`~companion.schedule.models.Session`
and :class:`~companion.schedule.models.Speaker` that the exporters use, under the same names, so every
exporter renders an ORM session (the personal feed's) and a record alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from companion.schedule.models import Room, Session, Speaker, Track


@dataclass(frozen=True, slots=True)
class SpeakerRecord:
    """A speaker as the exports show them."""

    id: int
    code: str
    name: str
    biography: str | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session as the exports show it: its own columns, its room and track, its speakers in billing order."""

    id: int
    code: str
    guid: str
    external_id: int | None
    slug: str | None
    url: str | None
    title: str
    subtitle: str | None
    abstract: str | None
    description: str | None
    starts_at: datetime
    ends_at: datetime
    type: str | None
    level: str | None
    language: str | None
    state: str
    sequence: int
    links: list[dict[str, Any]]
    updated_at: datetime
    room: Room | None
    track: Track | None
    speakers: tuple[SpeakerRecord, ...]

    @property
    def is_cancelled(self) -> bool:
        """True once the session is cancelled (as :attr:`Session.is_cancelled`)."""
        return self.state == "cancelled"


# The columns a SessionRecord takes from the session table, in its field order.
SESSION_COLUMNS = tuple(name for name in SessionRecord.__dataclass_fields__ if name not in ("room", "track", "speakers"))
SPEAKER_COLUMNS = tuple(SpeakerRecord.__dataclass_fields__)

# What an exporter renders: a record (the whole-schedule exports) or an ORM session (a personal feed).
ScheduledSession = Session | SessionRecord
ScheduledSpeaker = Speaker | SpeakerRecord
