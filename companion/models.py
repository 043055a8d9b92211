"""Every feature's models, imported in one place so Alembic and ``db.create_all`` see them all.

The declarative base itself lives in :mod:`companion.database` so feature models can import it
without importing each other.
"""

from companion.agenda.models import AgendaShare, CalendarFeed, Favourite, FeedAnnouncement, WalkingTime  # noqa: F401
from companion.accounts.models import Attendee, AuditEvent, SignInToken, User  # noqa: F401
from companion.database import Base
from companion.idempotency.models import IdempotencyKey  # noqa: F401
from companion.hunt.models import HuntRule, Stamp, Station, StationDay  # noqa: F401
from companion.voting.models import Ballot, Poster, TieBreak, VoteCategory, VotingWindow  # noqa: F401
from companion.raffle.models import Raffle, RaffleEntry, RaffleListMember, RaffleWinner  # noqa: F401
from companion.push.models import Announcement, PlannerMark, PushMessage, PushPreferences, PushSubscription  # noqa: F401
from companion.schedule.models import (  # noqa: F401
    Conference,
    Room,
    Session,
    SessionChange,
    SessionSpeaker,
    Speaker,
    Track,
)

__all__ = ["IdempotencyKey", "Ballot", "Poster", "TieBreak", "VoteCategory", "VotingWindow", "Raffle", "RaffleEntry", "RaffleListMember", "RaffleWinner", "HuntRule", "Stamp", "Station", "StationDay", "Announcement", "PlannerMark", "PushMessage", "PushPreferences", "PushSubscription", "AgendaShare", "CalendarFeed", "Favourite", "FeedAnnouncement", "WalkingTime", "Attendee", "AuditEvent", "SignInToken", "User", "Base", "Conference", "Room", "Session", "SessionChange", "SessionSpeaker", "Speaker", "Track"]
