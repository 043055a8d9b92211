"""Hunt JSON API under /api/v1/hunt: stamp with a booth code, and my card for today.

A stamp is ``POST /api/v1/hunt/stamps`` with ``{"code": ...}`` (what the booth's QR carries, or the
whole URL it opens): 201 for a new stamp, 200 with ``already: true`` for a repeat. Refusals are
problem+json whose ``errors[0].reason`` is one of: malformed, unknown, expired, inactive, not_attendee. Submissions are
rate limited per attendee (not per address: a venue shares one), so codes cannot be guessed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response as SpecResponse

from companion import timeutil
from companion.accounts import my_data
from companion.accounts.access import attendee_required
from companion.accounts.models import User
from companion.errors import Problem
from companion.extensions import api_spec, db
from companion.hunt import codes, queries, segments, services  # noqa: F401 - segments registers an audience
from companion.hunt.limits import stamp_rate_limit
from companion.hunt.my_data import export_stamps
from companion.schedule import queries as schedule_queries
from companion.schedule.days import conference_day

bp = Blueprint("hunt_api", __name__, url_prefix="/api/v1/hunt")
my_data.register_exporter("hunt_stamps", export_stamps)

class StampIn(BaseModel):
    """A scanned booth code (or the URL of the booth's QR); ``share_contact``: the booth may see my name."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=300)
    share_contact: bool = False
    offline: bool = Field(False, description="scanned while offline and sent later by the offline queue: a "
                                             "rotating code is accepted if it was valid when scanned, within "
                                             "the grace staff set; the stamp counts from when it was on screen")


class CardStationOut(BaseModel):
    code: str
    name: str
    location: str | None
    required: bool
    stamped_at: datetime | None


class CardOut(BaseModel):
    """My card for a day: its stations, stamps needed, stamped, complete (then I am in that day's raffle)."""

    day: date
    needed: int
    stamped: int
    complete: bool
    stations: list[CardStationOut]


class StampOut(BaseModel):
    """The stamp (``already``: it was there before this scan, at ``stamped_at``) and my card after it."""

    station: str
    station_name: str
    already: bool
    stamped_at: datetime
    message: str
    card: CardOut


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def card_out(card: queries.Card) -> CardOut:
    """A :class:`queries.Card` as the API gives it."""
    return CardOut(day=card.day, needed=card.needed, stamped=card.stamped, complete=card.complete,
                   stations=[CardStationOut(code=e.station.code, name=e.station.name, location=e.station.location,
                                            required=e.station.required, stamped_at=e.stamped_at)
                             for e in card.stations])


@bp.post("/stamps")
@attendee_required
@stamp_rate_limit
@api_spec.validate(json=StampIn, resp=SpecResponse(HTTP_200=StampOut, HTTP_201=StampOut, HTTP_400=None, HTTP_401=None,
                                                    HTTP_403=None, HTTP_422=None, HTTP_429=None), tags=["hunt"])
def stamp(json: StampIn) -> tuple[StampOut, int]:
    """Collect a stamp with a booth's code (201), or learn it is already there (200)."""
    now, zone = timeutil.now(), schedule_queries.conference_zone(schedule_queries.get_conference())
    try:
        code = codes.code_from_scan(json.code)
        grace = timedelta(minutes=services.rule().offline_grace_minutes) if json.offline else None
        station = services.station_for_code(code, now=now, zone=zone, offline_grace=grace)
        result = services.record_stamp(_me(), station, now=services.scan_moment(code, now, offline=json.offline),
                                       zone=zone, method="code", share_contact=json.share_contact)
    except services.HuntError as exc:
        db.session.rollback()
        raise Problem(422, str(exc), errors=[{"loc": exc.loc, "msg": str(exc), "reason": exc.reason}]) from exc
    # The answer is built before the commit, which would expire the station, its days and me (three
    # more queries); the card reads the stamp just written in this transaction.
    out = StampOut(station=station.code, station_name=station.name, already=not result.new,
                   stamped_at=result.stamped_at, message=services.stamp_message(result, zone),
                   card=card_out(queries.card(_me().id, result.day)))
    db.session.commit()
    return out, 201 if result.new else 200


@bp.get("/card")
@attendee_required
@api_spec.validate(resp=SpecResponse(HTTP_200=CardOut, HTTP_401=None, HTTP_403=None), tags=["hunt"])
def my_card() -> CardOut:
    """My card for today (the conference day in its zone; before 04:00 the day before)."""
    now, zone = timeutil.now(), schedule_queries.conference_zone(schedule_queries.get_conference())
    return card_out(queries.card(_me().id, conference_day(now, zone)))
