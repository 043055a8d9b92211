"""API shapes of schedule data (pydantic): what the API validates and what the OpenAPI document says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from companion.schedule.models import Conference, Room, Session, Speaker, Track


class ConferenceOut(BaseModel):
    """The conference: its title, dates and the IANA time zone every session time is given in."""

    title: str
    acronym: str
    timezone: str = Field(description="IANA time zone of the venue; session times carry its offset")
    start: date | None
    end: date | None
    url: str | None


class RoomOut(BaseModel):
    """A room of the venue; ``code`` addresses it in URLs and session objects."""

    code: str = Field(description="URL slug of the room")
    name: str
    building: str | None
    capacity: int | None


class TrackOut(BaseModel):
    """A thematic track with its display colour."""

    code: str
    name: str
    colour: str | None


class LinkOut(BaseModel):
    """A link a session carries: slides, video, repository."""

    url: str
    title: str


class SpeakerOut(BaseModel):
    """A speaker, with the codes of their sessions."""

    code: str
    name: str
    organisation: str | None
    position: str | None
    biography: str | None
    sessions: list[str] = Field(description="codes of the speaker's sessions")


class SessionOut(BaseModel):
    """A session. Cancelled sessions stay in the schedule with ``state`` = cancelled."""

    code: str
    title: str
    subtitle: str | None
    abstract: str | None
    description: str | None
    start: datetime = Field(description="ISO 8601 with the conference zone's UTC offset")
    end: datetime
    room: str | None = Field(description="room code")
    track: str | None = Field(description="track code")
    type: str | None
    level: str | None
    language: str | None
    state: Literal["confirmed", "cancelled"]
    sequence: int = Field(description="grows by one with every change to the session")
    speakers: list[str] = Field(description="speaker codes, in billing order")
    links: list[LinkOut]
    updated_at: datetime


class ScheduleDocument(BaseModel):
    """The whole schedule in one document; its ETag changes whenever any part of it does."""

    conference: ConferenceOut
    rooms: list[RoomOut]
    tracks: list[TrackOut]
    speakers: list[SpeakerOut]
    sessions: list[SessionOut]


class SessionList(BaseModel):
    """Sessions matching the filters, by start time."""

    sessions: list[SessionOut]


class SessionQuery(BaseModel):
    """Filters of ``GET /api/v1/sessions``; unknown parameters are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    day: date | None = Field(None, description="a conference day, YYYY-MM-DD, in the conference's zone")
    room: str | None = Field(None, max_length=120, description="room code")
    track: str | None = Field(None, max_length=120, description="track code")
    state: Literal["confirmed", "cancelled"] | None = None
    q: str | None = Field(None, min_length=1, max_length=200, description="text in the title, abstract or speaker names")


def conference_out(conference: Conference) -> ConferenceOut:
    """The API shape of ``conference``."""
    return ConferenceOut(title=conference.title, acronym=conference.acronym, timezone=conference.timezone,
                         start=conference.start_date, end=conference.end_date, url=conference.url)


def room_out(room: Room) -> RoomOut:
    """The API shape of ``room``."""
    return RoomOut(code=room.slug, name=room.name, building=room.building, capacity=room.capacity)


def track_out(track: Track) -> TrackOut:
    """The API shape of ``track``."""
    return TrackOut(code=track.slug, name=track.name, colour=track.colour)


def speaker_out(speaker: Speaker) -> SpeakerOut:
    """The API shape of ``speaker`` (its session links must be loaded)."""
    sessions = sorted((link.session for link in speaker.session_links), key=lambda s: (s.starts_at, s.code))
    return SpeakerOut(code=speaker.code, name=speaker.name, organisation=speaker.organisation,
                      position=speaker.position, biography=speaker.biography, sessions=[s.code for s in sessions])


def session_out(session: Session, zone: ZoneInfo) -> SessionOut:
    """The API shape of ``session``, times in ``zone``."""
    return SessionOut(
        code=session.code, title=session.title, subtitle=session.subtitle, abstract=session.abstract,
        description=session.description, start=session.starts_at.astimezone(zone), end=session.ends_at.astimezone(zone),
        room=session.room.slug if session.room else None, track=session.track.slug if session.track else None,
        type=session.type, level=session.level, language=session.language, state=session.state,  # type: ignore[arg-type]
        sequence=session.sequence, speakers=[sp.code for sp in session.speakers],
        links=[LinkOut(url=link["url"], title=link.get("title") or link["url"]) for link in session.links or []],
        updated_at=session.updated_at,
    )


def schedule_document(conference: Conference, rooms: Sequence[Room], tracks: Sequence[Track],
                      speakers: Sequence[Speaker], sessions: Sequence[Session]) -> ScheduleDocument:
    """The whole schedule as one document."""
    zone = ZoneInfo(conference.timezone)
    return ScheduleDocument(
        conference=conference_out(conference),
        rooms=[room_out(r) for r in rooms],
        tracks=[track_out(t) for t in tracks],
        speakers=[speaker_out(s) for s in speakers],
        sessions=[session_out(s, zone) for s in sessions],
    )
