"""What the database can hold: column lengths and integer ranges, read from the models once.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` or an integer outside its column's
range (with a raw DataError, after the whole import ran); SQLite silently stores it. The builder
makes every parsed value fit these limits, so both databases get the same, storable schedule.
Nothing here is typed twice: change a column in :mod:`companion.schedule.models` and the
importers follow.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import BigInteger, Column, Integer, SmallInteger

from companion.codes import slugify as stored_slug
from companion.schedule.models import Conference, Room, Session, Speaker, Track


def _length(column: Column) -> int:
    length = column.type.length
    assert length, f"{column} has no length"
    return int(length)


def _int_range(column: Column) -> tuple[int, int]:
    """The values an integer column holds on PostgreSQL (SQLite holds 64 bits, never less)."""
    kind = column.type
    assert isinstance(kind, Integer), f"{column} is not an integer column"
    bits = 64 if isinstance(kind, BigInteger) else 16 if isinstance(kind, SmallInteger) else 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


_conference, _room, _track = Conference.__table__.c, Room.__table__.c, Track.__table__.c
_speaker, _session = Speaker.__table__.c, Session.__table__.c

# The sync service makes a room's and a track's slug from its name, so a name is held to the
# shorter of the two columns (a name of plain letters and digits gives a slug as long as itself).
ROOM_NAME = min(_length(_room.name), _length(_room.slug))
TRACK_NAME = min(_length(_track.name), _length(_track.slug))
ROOM_BUILDING = _length(_room.building)
ROOM_CAPACITY = _int_range(_room.capacity)

SPEAKER_KEY = _length(_speaker.source_key)
SPEAKER_FIELDS = {
    "name": _length(_speaker.name),
    "organisation": _length(_speaker.organisation),
    "position": _length(_speaker.position),
}

SESSION_KEY = _length(_session.source_key)
SESSION_EXTERNAL_ID = _int_range(_session.external_id)
# Text shortened with an ellipsis: people read it, and a shortened title still says something.
SESSION_TEXT = {
    "title": _length(_session.title),
    "subtitle": _length(_session.subtitle),
    "type": _length(_session.type),
    "level": _length(_session.level),
    "language": _length(_session.language),
}
SESSION_SLUG = _length(_session.slug)  # cut, no ellipsis: it is an identifier
SESSION_URL = _length(_session.url)  # a cut URL is a wrong link: left out instead

CONFERENCE_TEXT = {"title": _length(_conference.title), "acronym": _length(_conference.acronym)}
CONFERENCE_URL = _length(_conference.url)
ZONE_NAME = _length(_conference.timezone)  # no longer name is a zone the conference can have


def shorten(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, ending in "…" to show that it was cut."""
    if len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def fit_name(value: str, limit: int) -> str:
    """A room or track name of at most ``limit`` characters whose stored slug also fits.

    A slug is the name's NFKD form in ASCII, which can be longer than the name ("ﬃ" is "ffi").
    """
    name = shorten(value, limit)
    while len(stored_slug(name)) > limit:
        name = shorten(name, len(name) - 1)
    return name


def hashed_key(key: str) -> str:
    """A short stand-in for an over-long key: the same key gives the same stand-in every import."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def in_range(value: int | None, bounds: tuple[int, int]) -> bool:
    return value is None or bounds[0] <= value <= bounds[1]
