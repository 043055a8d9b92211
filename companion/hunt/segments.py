"""The hunt's audience for announcements: people who completed today's hunt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select

from companion.hunt.queries import completers_query
from companion.push import audiences
from companion.schedule import queries as schedule_queries
from companion.schedule.days import conference_day


def completed_today(now: datetime) -> Select:
    """User ids of the people who completed the hunt of the conference day ``now`` falls in."""
    zone = schedule_queries.conference_zone(schedule_queries.get_conference())
    return completers_query(conference_day(now, zone))


audiences.register("hunt_completed_today", "Completed today's hunt", completed_today)
