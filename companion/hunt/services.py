"""Hunt services: stations (add, change, switch mode), the completion rule, and stamping.

Services flush; the view, API function or command commits. Time (``now``) and randomness
(``rng`` for codes, ``secrets`` for keys) are passed in or drawn here from the OS.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from companion.accounts.models import Attendee, User
from companion.codes import new_code
from companion.database import insert_ignoring_duplicates
from companion.extensions import db
from companion.hunt import codes
from companion.hunt.models import HuntRule, Stamp, Station, StationDay
from companion.schedule.days import conference_day

DEFAULT_STAMPS_NEEDED = 5
DEFAULT_OFFLINE_GRACE_MINUTES = 15
MAX_OFFLINE_GRACE_MINUTES = 240
NAME_MAX = 200
LOCATION_MAX = 200
DESCRIPTION_MAX = 2000


class HuntError(ValueError):
    """A refusal to show the person: ``reason`` is a short key (for tests and the API), the message says what to do."""

    def __init__(self, reason: str, message: str, loc: str = "code") -> None:
        super().__init__(message)
        self.reason = reason
        self.loc = loc


@dataclass(frozen=True)
class StampResult:
    """A stamp: ``new`` if this call made it, else it was there already (``stamped_at`` is the first one's)."""

    station: Station
    day: date
    new: bool
    stamped_at: datetime


# --- Stations -------------------------------------------------------------------------------


def _check_station_fields(name: str, location: str | None, description: str | None, days: list[date]) -> tuple[str, str | None, str | None]:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise HuntError("name", f"The station needs a name of 1 to {NAME_MAX} characters.", loc="name")
    location = (location or "").strip() or None
    if location and len(location) > LOCATION_MAX:
        raise HuntError("location", f"The location has at most {LOCATION_MAX} characters.", loc="location")
    description = (description or "").strip() or None
    if description and len(description) > DESCRIPTION_MAX:
        raise HuntError("description", f"The description has at most {DESCRIPTION_MAX} characters.", loc="description")
    if not days:
        raise HuntError("days", "Choose at least one day on which the station is part of the hunt.", loc="days")
    return name, location, description


def add_station(name: str, *, days: list[date], location: str | None = None, description: str | None = None,
                required: bool = False, mode: str = "rotating", now: datetime, rng: random.Random) -> Station:
    """Add a station with a new random code and secret.

    :raise HuntError: an empty or too long field, no day, an unknown mode.
    """
    name, location, description = _check_station_fields(name, location, description, days)
    if mode not in ("rotating", "fixed"):
        raise HuntError("mode", "A station's code is either rotating (on a screen) or fixed (printed).", loc="mode")
    taken = set(db.session.scalars(select(Station.code)))
    position = (db.session.scalar(select(Station.position).order_by(Station.position.desc()).limit(1)) or 0) + 1
    station = Station(code=new_code(rng, taken, 6), name=name, location=location, description=description,
                      required=required, mode=mode, secret=secrets.token_hex(32),
                      fixed_code=_printed_code() if mode == "fixed" else None,
                      position=position, created_at=now, updated_at=now,
                      days=[StationDay(day=d) for d in sorted(set(days))])
    db.session.add(station)
    db.session.flush()
    return station


def update_station(station: Station, *, name: str, days: list[date], location: str | None, description: str | None,
                   required: bool, now: datetime) -> None:
    """Change a station's details and days (its code, secret and stamps stay).

    :raise HuntError: as :func:`add_station`.
    """
    name, location, description = _check_station_fields(name, location, description, days)
    station.name, station.location, station.description, station.required = name, location, description, required
    wanted = set(days)
    station.days = [d for d in station.days if d.day in wanted] + [
        StationDay(day=d) for d in sorted(wanted - set(station.active_days))]
    station.updated_at = now
    db.session.flush()


def set_mode(station: Station, mode: str, *, now: datetime) -> None:
    """Switch between a rotating code (a screen) and a fixed, printed one (weaker).

    Switching to fixed makes a new printed code; switching back retires it (old prints stop working).
    :raise HuntError: an unknown mode.
    """
    if mode not in ("rotating", "fixed"):
        raise HuntError("mode", "A station's code is either rotating (on a screen) or fixed (printed).", loc="mode")
    if mode == station.mode:
        return
    station.mode = mode
    station.fixed_code = _printed_code() if mode == "fixed" else None
    station.updated_at = now
    db.session.flush()


def _printed_code() -> str:
    # 16 characters of the look-alike-free alphabet (about 79 bits): typeable from a printout.
    return new_code(random.SystemRandom(), (), 16)


def rule() -> HuntRule:
    """The hunt's settings: the completion rule and the offline grace (defaults, unsaved, if staff
    never set them)."""
    return db.session.get(HuntRule, 1) or HuntRule(id=1, stamps_needed=DEFAULT_STAMPS_NEEDED,
                                                   offline_grace_minutes=DEFAULT_OFFLINE_GRACE_MINUTES)


def _save_rule(now: datetime, **values: int) -> None:
    row = rule()
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now
    db.session.add(row)
    db.session.flush()


def set_offline_grace(minutes: int, *, now: datetime) -> None:
    """How many minutes after a rotating code expired it is still accepted from a phone that
    scanned it offline (0: never). :raise HuntError: not 0 to 240."""
    if not 0 <= minutes <= MAX_OFFLINE_GRACE_MINUTES:
        raise HuntError("offline_grace_minutes", f"The grace must be between 0 and {MAX_OFFLINE_GRACE_MINUTES} minutes.",
                        loc="offline_grace_minutes")
    _save_rule(now, offline_grace_minutes=minutes)


def set_stamps_needed(count: int, *, now: datetime) -> None:
    """How many of a day's stations complete that day's hunt. :raise HuntError: not 1 to 1000."""
    if not 1 <= count <= 1000:
        raise HuntError("stamps_needed", "The number of stamps must be between 1 and 1000.", loc="stamps_needed")
    _save_rule(now, stamps_needed=count)


# --- Stamping -------------------------------------------------------------------------------


def station_for_code(text: str, *, now: datetime, zone,  # noqa: ANN001 - ZoneInfo
                     offline_grace: timedelta | None = None) -> Station:
    """The station whose code this is, if the code is valid now and the station is in today's hunt.

    ``offline_grace``: the code was scanned offline and is sent now; a rotating code is accepted if
    it was valid when scanned and expired less than this long ago (see :func:`scan_moment`).

    :raise HuntError: ``malformed`` (not a hunt code), ``unknown`` (no such station, or a code
        that is not the station's: forged or of another conference), ``expired`` (a rotating code
        older than the previous 30 seconds, or than the grace), ``inactive`` (the station is not
        in the hunt the day it was scanned).
    """
    scanned = codes.parse(text)
    if scanned is None:
        raise HuntError("malformed", "This is not a hunt code. Scan the QR code on the booth's screen.")
    station = db.session.scalars(select(Station).where(Station.code == scanned.station)).first()
    not_ours = HuntError("unknown", "This code is not one of this conference's hunt. Scan the QR code on the booth's screen.")
    if station is None:
        raise not_ours
    if scanned.fixed is not None:
        if station.mode != "fixed" or not secrets.compare_digest(station.fixed_code or "", scanned.fixed):
            raise not_ours
    else:
        if station.mode != "rotating" or not codes.mac_matches(scanned, station.secret):
            raise not_ours
        if offline_grace is not None:
            if not codes.offline_accepted(scanned.window or 0, now, offline_grace):
                minutes = int(offline_grace.total_seconds() // 60)
                raise HuntError("expired", "This code was scanned offline and arrived too late: codes scanned "
                                           f"offline count for {minutes} minutes after they change. Scan the screen again.")
        elif not codes.window_accepted(scanned.window or 0, now):
            raise HuntError("expired", "This code has expired: scan the screen again.")
    if conference_day(scan_moment(scanned, now, offline=offline_grace is not None), zone) not in station.active_days:
        raise HuntError("inactive", f"{station.name} is not part of today's hunt.")
    return station


def scan_moment(scanned: codes.ScannedCode | str, now: datetime, *, offline: bool) -> datetime:
    """When the stamp counts from: now, or for a rotating code scanned offline the latest moment
    it was on the booth's screen (by our clock, from its window: a phone's clock is not trusted)."""
    if isinstance(scanned, str):
        parsed = codes.parse(scanned)
        if parsed is None:
            return now
        scanned = parsed
    if not offline or scanned.window is None:
        return now
    return codes.scanned_by(scanned.window, now)


def record_stamp(user: User, station: Station, *, now: datetime, zone, method: str,  # noqa: ANN001 - ZoneInfo
                 by: User | None = None, share_contact: bool = False) -> StampResult:
    """Stamp ``user``'s card at ``station`` for today, once.

    ``INSERT ... ON CONFLICT DO NOTHING`` on (person, station, day): any number of concurrent
    submissions leave one stamp; the others read its time ("already stamped at 11:42").

    :raise HuntError: ``not_attendee`` for accounts without a badge, ``inactive`` if the station is
        not in today's hunt.
    """
    if db.session.scalar(select(Attendee.id).where(Attendee.user_id == user.id)) is None:
        raise HuntError("not_attendee", "Only attendees with a badge take part in the hunt.", loc="user")
    day = conference_day(now, zone)
    if day not in station.active_days:
        raise HuntError("inactive", f"{station.name} is not part of today's hunt.")
    added = insert_ignoring_duplicates(
        Stamp, {"user_id": user.id, "station_id": station.id, "day": day, "stamped_at": now, "method": method,
                "stamped_by_id": by.id if by else None, "share_contact": share_contact},
        conflict_columns=("user_id", "station_id", "day"))
    if not added and share_contact:
        # Agreeing later (at a second visit) still counts as agreeing: the booth may now see the name.
        db.session.execute(Stamp.__table__.update()
                           .where(Stamp.user_id == user.id, Stamp.station_id == station.id, Stamp.day == day)
                           .values(share_contact=True))
    stamped_at = now if added else db.session.scalar(select(Stamp.stamped_at).where(
        Stamp.user_id == user.id, Stamp.station_id == station.id, Stamp.day == day))
    return StampResult(station=station, day=day, new=added, stamped_at=stamped_at)


def stamp_message(result: StampResult, zone) -> str:  # noqa: ANN001 - ZoneInfo
    """What the attendee reads after a scan: "Stamped at Acme AI." or "Already stamped at Acme AI at 11:42."."""
    if result.new:
        return f"Stamped at {result.station.name}."
    return f"Already stamped at {result.station.name} at {result.stamped_at.astimezone(zone):%H:%M}."
