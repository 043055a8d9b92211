"""Hunt queries: a day's stations, a person's card, who completed a day, and the staff counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import lazyload

from companion.accounts.models import Attendee, User
from companion.extensions import db
from companion.hunt.models import Stamp, Station, StationDay
from companion.hunt.services import rule


@dataclass(frozen=True)
class CardStation:
    """One station on a person's card: stamped or not, and when."""

    station: Station
    stamped_at: datetime | None


@dataclass(frozen=True)
class Card:
    """A person's hunt card for one day."""

    day: date
    stations: list[CardStation]
    needed: int  # stamps that complete the day (at most the number of stations)
    stamped: int
    missing_required: list[Station]

    @property
    def complete(self) -> bool:
        """Enough stamps, every required station among them (a day without stations is never complete)."""
        return bool(self.stations) and self.stamped >= self.needed and not self.missing_required


def day_stations(day: date, *, with_days: bool = True) -> list[Station]:
    """The stations in the hunt on ``day``, in their order (``with_days=False``: without loading
    each station's other days, which a card does not show)."""
    statement = select(Station).join(StationDay).where(StationDay.day == day).order_by(Station.position, Station.name)
    if not with_days:
        statement = statement.options(lazyload(Station.days))
    return list(db.session.scalars(statement))


def hunt_days() -> list[date]:
    """Every day some station is in the hunt, in order."""
    return list(db.session.scalars(select(StationDay.day).distinct().order_by(StationDay.day)))


def needed_on(stations_that_day: int) -> int:
    """Stamps that complete a day with this many stations: the rule's number, or all of them if fewer."""
    return min(rule().stamps_needed, stations_that_day)


def card(user_id: int, day: date) -> Card:
    """``user_id``'s card for ``day``: each of the day's stations, stamped or not."""
    stations = day_stations(day, with_days=False)
    stamped = dict(db.session.execute(select(Stamp.station_id, Stamp.stamped_at)
                                      .where(Stamp.user_id == user_id, Stamp.day == day)).all())
    entries = [CardStation(s, stamped.get(s.id)) for s in stations]
    return Card(day=day, stations=entries, needed=needed_on(len(stations)),
                stamped=sum(1 for e in entries if e.stamped_at), 
                missing_required=[e.station for e in entries if e.station.required and not e.stamped_at])


def completers_query(day: date):  # noqa: ANN201 - a Select of user ids
    """A query of the user ids who completed ``day``'s hunt (for the raffle and push audiences).

    Stamps count only at stations in that day's hunt; every required station of the day must be
    among them.
    """
    stations = select(Station.id, Station.required).join(StationDay).where(StationDay.day == day).subquery()
    required_count = select(func.count()).select_from(stations).where(stations.c.required.is_(True)).scalar_subquery()
    station_count = select(func.count()).select_from(stations).scalar_subquery()
    needed = func.min(rule().stamps_needed, station_count) if db.session.get_bind().dialect.name == "sqlite" \
        else func.least(rule().stamps_needed, station_count)
    return (select(Stamp.user_id)
            .join(stations, stations.c.id == Stamp.station_id)
            .where(Stamp.day == day)
            .group_by(Stamp.user_id)
            .having(func.count() >= needed,
                    func.sum(case((stations.c.required.is_(True), 1), else_=0)).cast(Integer) == required_count))


@dataclass(frozen=True)
class Completer:
    """Someone who completed a day's hunt: for the staff list and the raffle."""

    user_id: int
    name: str
    email: str
    company: str | None
    completed_at: datetime  # the stamp that completed the card


def completers(day: date) -> list[Completer]:
    """Who completed ``day``'s hunt, in the order they completed it."""
    ids = completers_query(day).subquery()
    rows = db.session.execute(
        select(User.id, User.name, User.email, Attendee.company, func.max(Stamp.stamped_at))
        .join(ids, ids.c.user_id == User.id).join(Attendee, Attendee.user_id == User.id)
        .join(Stamp, (Stamp.user_id == User.id) & (Stamp.day == day))
        .group_by(User.id, User.name, User.email, Attendee.company)).all()
    return sorted((Completer(*row) for row in rows), key=lambda c: (c.completed_at, c.user_id))


def completions_per_day() -> list[tuple[date, int]]:
    """(day, how many completed it) for every hunt day."""
    return [(day, db.session.scalar(select(func.count()).select_from(completers_query(day).subquery())))
            for day in hunt_days()]


def stamps_per_station_hour(day: date, zone: ZoneInfo) -> dict[str, Counter[int]]:
    """Station name -> stamps per local hour of ``day`` (for the staff chart)."""
    result: dict[str, Counter[int]] = {s.name: Counter() for s in day_stations(day)}
    for name, at in db.session.execute(select(Station.name, Stamp.stamped_at).join(Station)
                                       .where(Stamp.day == day)):
        result.setdefault(name, Counter())[at.astimezone(zone).hour] += 1
    return result


def booth_staff(station: Station) -> list[User]:
    """The booth accounts working for ``station``."""
    return list(db.session.scalars(select(User).where(User.role == "booth", User.booth_code == station.code)
                                   .order_by(User.name)))


@dataclass(frozen=True)
class Visitor:
    """A stamp as the booth sees it: the name only if the attendee agreed."""

    stamped_at: datetime
    name: str | None
    company: str | None
    email: str | None


def booth_visitors(station: Station, day: date) -> tuple[int, list[Visitor]]:
    """(stamps today, the visitors who agreed to share their contact) for the booth's own page."""
    rows = db.session.execute(
        select(Stamp.stamped_at, Stamp.share_contact, User.name, User.email, Attendee.company)
        .join(User, User.id == Stamp.user_id).outerjoin(Attendee, Attendee.user_id == User.id)
        .where(Stamp.station_id == station.id, Stamp.day == day).order_by(Stamp.stamped_at)).all()
    shared = [Visitor(r.stamped_at, r.name, r.company, r.email) for r in rows if r.share_contact]
    return len(rows), shared
