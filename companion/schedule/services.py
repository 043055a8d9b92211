"""Bring the database in line with an imported schedule.

:func:`apply_schedule` is the only writer of schedule data. It matches sessions and speakers by
their source key, adds what is new, updates what changed (bumping the session's ``sequence`` and
recording a :class:`SessionChange` per notable change), and cancels sessions that left the source,
never deleting them. A file identical to what is stored writes nothing at all. The caller commits.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from companion.codes import new_code, unique_slug
from companion.database import lock_for_writing
from companion.extensions import db
from companion.schedule.interchange import ParsedRoom, ParsedSchedule, ParsedSession
from companion.schedule.models import Conference, Room, Session, SessionChange, SessionSpeaker, Speaker, Track

# Namespace for guids we make up for sources whose ids are not UUIDs (exports must carry UUIDs).
GUID_NAMESPACE = uuid.UUID("6f0b6a52-3f0e-5f55-9b8e-2c1d1c0a7e11")

@dataclass
class SessionDiff:
    """What an import did to one session."""

    title: str
    outcome: str  # "added", "changed" or "cancelled"
    changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # (kind, old, new)


@dataclass
class ImportReport:
    """Counts and details of one import; ``summary()`` is the line the CLI prints."""

    added: int = 0
    changed: int = 0
    cancelled: int = 0
    unchanged: int = 0
    diffs: list[SessionDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wrote: bool = False

    def summary(self) -> str:
        """``added N, changed N, cancelled N, unchanged N``: the line the CLI and staff page show."""
        return f"added {self.added}, changed {self.changed}, cancelled {self.cancelled}, unchanged {self.unchanged}"


def session_guid(guid: str | None, source_key: str) -> str:
    """The session's UUID: the source's if it is one, else one derived from the source key."""
    if guid:
        try:
            return str(uuid.UUID(guid))
        except ValueError:
            pass
    return str(uuid.uuid5(GUID_NAMESPACE, source_key))


def apply_schedule(parsed: ParsedSchedule, *, now: datetime, rng: random.Random) -> ImportReport:
    """Make the stored schedule match ``parsed``; flush, do not commit.

    :param parsed: the importer's output.
    :param now: the time recorded on changes (aware).
    :param rng: randomness for new public codes.
    :return: the counts and per-session changes.
    """
    report = ImportReport(warnings=list(parsed.warnings))
    sync = _Sync(parsed, now, rng, report)
    sync.run()
    return report


class _Sync:
    """One import's working state: everything stored, loaded once, then diffed in memory."""

    def __init__(self, parsed: ParsedSchedule, now: datetime, rng: random.Random, report: ImportReport) -> None:
        self.parsed, self.now, self.rng, self.report = parsed, now, rng, report
        self.touched = False  # anything besides sessions written (conference, rooms, tracks, speakers)

    def run(self) -> None:
        lock_for_writing(db.session, "schedule")
        conference = self._conference()
        rooms = self._rooms()
        tracks = self._tracks()
        speakers = self._speakers()
        self._sessions(rooms, tracks, speakers)
        if self.touched or self.report.added or self.report.changed or self.report.cancelled:
            self.report.wrote = True
            conference.updated_at = self.now
            db.session.flush()
            # Atomic increment: two imports racing still give two distinct versions.
            db.session.execute(
                update(Conference).where(Conference.id == conference.id).values(schedule_version=Conference.schedule_version + 1)
            )
            db.session.flush()

    def _set(self, obj: Any, name: str, value: Any) -> bool:
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            return True
        return False

    def _conference(self) -> Conference:
        source = self.parsed.conference
        conference = db.session.scalars(select(Conference).limit(1).with_for_update()).first()
        if conference is None:
            conference = Conference(schedule_version=0, updated_at=self.now, title=source.title or "Conference",
                                    acronym=source.acronym or "conference", timezone=source.timezone)
            db.session.add(conference)
            self.touched = True
        for name, value in (("timezone", source.timezone), ("start_date", source.start_date), ("end_date", source.end_date)):
            self.touched |= self._set(conference, name, value)
        # Formats without a conference title (Sched, many iCal feeds) keep the one already stored.
        for name, value in (("title", source.title), ("acronym", source.acronym), ("url", source.url)):
            if value:
                self.touched |= self._set(conference, name, value)
        return conference

    def _rooms(self) -> dict[str, Room]:
        rooms = {room.name: room for room in db.session.scalars(select(Room))}
        slugs = {room.slug for room in rooms.values()}
        wanted = list(self.parsed.rooms)
        known = {r.name for r in wanted}
        for session in self.parsed.sessions:
            if session.room and session.room not in known:
                known.add(session.room)
                wanted.append(ParsedRoom(name=session.room, position=len(wanted)))
        for parsed_room in wanted:
            room = rooms.get(parsed_room.name)
            if room is None:
                slug = unique_slug(parsed_room.name, slugs, "room")
                slugs.add(slug)
                room = Room(name=parsed_room.name, slug=slug, position=parsed_room.position,
                            building=parsed_room.building, capacity=parsed_room.capacity)
                db.session.add(room)
                rooms[room.name] = room
                self.touched = True
                continue
            self.touched |= self._set(room, "position", parsed_room.position)
            # A file that says nothing about a room's building or capacity keeps what staff set.
            if parsed_room.building is not None:
                self.touched |= self._set(room, "building", parsed_room.building)
            if parsed_room.capacity is not None:
                self.touched |= self._set(room, "capacity", parsed_room.capacity)
        return rooms

    def _tracks(self) -> dict[str, Track]:
        tracks = {track.name: track for track in db.session.scalars(select(Track))}
        slugs = {track.slug for track in tracks.values()}
        colours = {t.name: t.colour for t in self.parsed.tracks}
        names = [t.name for t in self.parsed.tracks] + [s.track for s in self.parsed.sessions if s.track]
        for name in dict.fromkeys(names):
            track = tracks.get(name)
            if track is None:
                slug = unique_slug(name, slugs, "track")
                slugs.add(slug)
                track = Track(name=name, slug=slug, colour=colours.get(name))
                db.session.add(track)
                tracks[name] = track
                self.touched = True
            elif colours.get(name):
                self.touched |= self._set(track, "colour", colours[name])
        return tracks

    def _speakers(self) -> dict[str, Speaker]:
        speakers = {s.source_key: s for s in db.session.scalars(select(Speaker))}
        codes = {s.code for s in speakers.values()}
        for parsed_speaker in self.parsed.speakers:
            speaker = speakers.get(parsed_speaker.key)
            if speaker is None:
                code = new_code(self.rng, codes)
                codes.add(code)
                speaker = Speaker(code=code, source_key=parsed_speaker.key, name=parsed_speaker.name)
                db.session.add(speaker)
                speakers[speaker.source_key] = speaker
                self.touched = True
            for name, value in (
                ("name", parsed_speaker.name), ("biography", parsed_speaker.biography),
                ("organisation", parsed_speaker.organisation), ("position", parsed_speaker.position),
            ):
                self.touched |= self._set(speaker, name, value)
        return speakers

    def _sessions(self, rooms: dict[str, Room], tracks: dict[str, Track], speakers: dict[str, Speaker]) -> None:
        stored = {
            s.source_key: s
            for s in db.session.scalars(select(Session).options(selectinload(Session.speaker_links)))
        }
        codes = {s.code for s in stored.values()}
        self.guid_owner = {s.guid: s.source_key for s in stored.values()}
        seen: set[str] = set()
        for parsed_session in self.parsed.sessions:
            seen.add(parsed_session.key)
            session = stored.get(parsed_session.key)
            if session is None:
                code = new_code(self.rng, codes)
                codes.add(code)
                self._add_session(parsed_session, code, rooms, tracks, speakers)
            else:
                self._update_session(session, parsed_session, rooms, tracks, speakers)
        for key, session in stored.items():
            if key not in seen and session.state != "cancelled":
                self._record(session, "cancelled", [("cancelled", "confirmed", "removed from the schedule")])
                session.state = "cancelled"

    def _add_session(self, parsed: ParsedSession, code: str, rooms: dict[str, Room], tracks: dict[str, Track], speakers: dict[str, Speaker]) -> None:
        session = Session(
            code=code, source_key=parsed.key, title=parsed.title, starts_at=parsed.start, ends_at=parsed.end,
            room=rooms.get(parsed.room) if parsed.room else None, track=tracks.get(parsed.track) if parsed.track else None,
            state="cancelled" if parsed.cancelled else "confirmed", sequence=0, created_at=self.now, updated_at=self.now,
            links=_links(parsed),
            **self._details(parsed),
        )
        session.speaker_links = [
            SessionSpeaker(speaker=speakers[key], position=i) for i, key in enumerate(dict.fromkeys(parsed.speakers)) if key in speakers
        ]
        db.session.add(session)
        self.report.added += 1
        self.report.diffs.append(SessionDiff(parsed.title, "added"))

    def _update_session(self, session: Session, parsed: ParsedSession, rooms: dict[str, Room], tracks: dict[str, Track], speakers: dict[str, Speaker]) -> None:
        changes: list[tuple[str, str | None, str | None]] = []
        if session.starts_at != parsed.start or session.ends_at != parsed.end:
            changes.append(("time", _span(session.starts_at, session.ends_at), _span(parsed.start, parsed.end)))
            session.starts_at, session.ends_at = parsed.start, parsed.end
        new_room = rooms.get(parsed.room) if parsed.room else None
        if session.room is not new_room:
            changes.append(("room", session.room.name if session.room else None, new_room.name if new_room else None))
            session.room = new_room
        if session.title != parsed.title:
            changes.append(("title", session.title, parsed.title))
            session.title = parsed.title
        new_state = "cancelled" if parsed.cancelled else "confirmed"
        if session.state != new_state:
            changes.append(("cancelled" if parsed.cancelled else "restored", session.state, new_state))
            session.state = new_state

        detail_changes = [name for name, value in self._details(parsed).items() if self._set(session, name, value)]
        new_track = tracks.get(parsed.track) if parsed.track else None
        if session.track is not new_track:
            session.track = new_track
            detail_changes.append("track")
        if session.links != _links(parsed):
            session.links = _links(parsed)
            detail_changes.append("links")
        wanted_speakers = [key for key in dict.fromkeys(parsed.speakers) if key in speakers]
        if [link.speaker.source_key for link in session.speaker_links] != wanted_speakers:
            session.speaker_links = [SessionSpeaker(speaker=speakers[key], position=i) for i, key in enumerate(wanted_speakers)]
            detail_changes.append("speakers")
        if detail_changes:
            changes.append(("details", None, ", ".join(detail_changes)))

        if not changes:
            self.report.unchanged += 1
            return
        outcome = "cancelled" if any(kind == "cancelled" for kind, _, _ in changes) else "changed"
        self._record(session, outcome, changes)

    def _record(self, session: Session, outcome: str, changes: list[tuple[str, str | None, str | None]]) -> None:
        session.sequence += 1
        session.updated_at = self.now
        for kind, old, new in changes:
            db.session.add(SessionChange(session=session, kind=kind, old_value=old, new_value=new, changed_at=self.now))
        if outcome == "cancelled":
            self.report.cancelled += 1
        else:
            self.report.changed += 1
        self.report.diffs.append(SessionDiff(session.title, outcome, changes))


    def _details(self, parsed: ParsedSession) -> dict[str, Any]:
        """The session's descriptive fields as stored; the guid made unique across sessions."""
        guid = session_guid(parsed.guid, parsed.key)
        if self.guid_owner.get(guid, parsed.key) != parsed.key:
            # Two events of one file share a guid (it happens): the second gets one from its key.
            guid = session_guid(None, parsed.key)
        self.guid_owner[guid] = parsed.key
        return _detail_fields(parsed, guid)


def _detail_fields(parsed: ParsedSession, guid: str) -> dict[str, Any]:
    return {
        "subtitle": parsed.subtitle or None,
        "abstract": parsed.abstract or None,
        "description": parsed.description or None,
        "type": parsed.type or None,
        "level": parsed.level or None,
        "language": parsed.language or None,
        "guid": guid,
        "external_id": parsed.external_id,
        "slug": parsed.slug or None,
        "url": parsed.url or None,
    }


def _links(parsed: ParsedSession) -> list[dict[str, Any]]:
    return [{"url": link.url, "title": link.title} for link in parsed.links]


def _span(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"
