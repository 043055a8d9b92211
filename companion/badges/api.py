"""Check-in JSON API under /api/v1, used by the staff scanner page.

Staff only. State-changing calls carry the CSRF token in the ``X-CSRFToken`` header (pages of
signed-in people have it in ``<meta name="csrf-token">``).
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, url_for
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field
from spectree import Response as SpecResponse

from companion import timeutil
from companion.accounts.access import staff_required
from companion.badges import queries, services
from companion.errors import Problem
from companion.extensions import api_spec, db
from companion.schedule.queries import conference_zone, get_conference

bp = Blueprint("badges_api", __name__, url_prefix="/api/v1")


class CheckInRequest(BaseModel):
    """``POST /api/v1/check-ins``: what the scanner read."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=500, description="the badge token, or the whole badge URL (…/b/<token>)")


class AttendeeOut(BaseModel):
    name: str
    company: str | None
    ticket_type: str | None


class CheckInOut(BaseModel):
    attendee: AttendeeOut
    checked_in_at: datetime = Field(description="when the attendee was first checked in (UTC)")
    checked_in_at_local: str = Field(description="the same moment as HH:MM in the conference's time zone")
    checked_in_by: str | None = Field(description="the name of the staff member who checked them in")
    already: bool = Field(description="true if they were checked in before this call (nothing changed)")


class HourOut(BaseModel):
    hour: str = Field(description="HH:MM, the start of the hour in the conference's time zone")
    start: datetime
    count: int


class CheckInStatsOut(BaseModel):
    checked_in: int
    registered: int
    day: date = Field(description="today in the conference's time zone")
    per_hour: list[HourOut]
    chart_url: str = Field(description="the per-hour chart as SVG")


@bp.post("/check-ins")
@staff_required
@api_spec.validate(json=CheckInRequest, resp=SpecResponse(HTTP_200=CheckInOut, HTTP_400=None, HTTP_401=None,
                                                          HTTP_403=None, HTTP_404=None), tags=["check-in"])
def check_in(json: CheckInRequest) -> CheckInOut:
    """Check in the attendee whose badge was scanned; idempotent (``already`` tells).

    404 if no current badge has this code (unknown, or replaced by a reissue).
    """
    attendee = queries.attendee_by_badge_token(queries.token_from_code(json.token))
    if attendee is None:
        raise Problem(404, "No badge with this code: it may have been replaced. Look the person up by name.",
                      title="Unknown badge")
    result = services.check_in(attendee, staff=current_user._get_current_object(), now=timeutil.now())  # noqa: SLF001
    db.session.commit()
    zone = conference_zone(get_conference())
    return CheckInOut(
        attendee=AttendeeOut(name=attendee.user.name, company=attendee.company, ticket_type=attendee.ticket_type),
        checked_in_at=result.at,
        checked_in_at_local=result.at.astimezone(zone).strftime("%H:%M"),
        checked_in_by=result.by_name,
        already=not result.newly,
    )


@bp.get("/check-ins/stats")
@staff_required
@api_spec.validate(resp=SpecResponse(HTTP_200=CheckInStatsOut, HTTP_401=None, HTTP_403=None), tags=["check-in"])
def check_in_stats() -> CheckInStatsOut:
    """Checked in out of registered, and today's check-ins per hour (the door's live count)."""
    zone = conference_zone(get_conference())
    stats = queries.check_in_stats(now=timeutil.now(), zone=zone)
    return CheckInStatsOut(
        checked_in=stats.checked_in,
        registered=stats.registered,
        day=stats.day,
        per_hour=[HourOut(hour=h.label, start=h.start, count=h.count) for h in stats.hours],
        chart_url=url_for("badges.check_in_chart"),
    )
