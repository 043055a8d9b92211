"""Factories for schedule data: a small hand-made conference, loaded through the real sync service."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from companion.extensions import db
from companion.schedule.interchange import (
    ParsedConference,
    ParsedLink,
    ParsedRoom,
    ParsedSchedule,
    ParsedSession,
    ParsedSpeaker,
    ParsedTrack,
)
from companion.schedule.services import ImportReport, apply_schedule

DAY_ONE = datetime(2026, 4, 7, 7, 0, tzinfo=UTC)  # 09:00 in Paris (CEST)


def small_schedule() -> ParsedSchedule:
    """Two days in Europe/Paris, three rooms in two buildings, six sessions, three speakers.

    Day one, 09:00-12:00 Paris time: a keynote, two parallel talks, a lightning talk, a break;
    day two: one workshop. The second talk overlaps the first in another building.
    """
    t = DAY_ONE
    speakers = [
        ParsedSpeaker("spk-ada", "Ada Lovelace", "Wrote the first program.", "Analytical Engines", "Programmer"),
        ParsedSpeaker("spk-grace", "Grace Hopper", "Invented the compiler.", "US Navy", "Rear Admiral"),
        ParsedSpeaker("spk-alan", "Alan Turing", None, "NPL", None),
    ]

    def session(key: str, title: str, start: datetime, minutes: int, room: str, **kw: object) -> ParsedSession:
        return ParsedSession(key=key, title=title, start=start, end=start + timedelta(minutes=minutes), room=room, **kw)  # type: ignore[arg-type]

    sessions = [
        session("s-keynote", "Opening Keynote", t, 30, "Master Stage", track="Community", type="Keynote", level="All",
                language="en", speakers=["spk-ada"], abstract="Welcome to the conference.",
                links=[ParsedLink("https://example.org/slides", "Slides")]),
        session("s-compilers", "Compilers for Everyone", t + timedelta(minutes=45), 25, "Master Stage",
                track="Frameworks & Compilers", type="Talk", level="Intermediate", language="en", speakers=["spk-grace"],
                abstract="How torch.compile sees your code."),
        session("s-serving", "Serving Models at Scale", t + timedelta(minutes=50), 25, "Junior Stage",
                track="Inference & Production", type="Talk", level="Advanced", language="en", speakers=["spk-alan", "spk-ada"],
                abstract="Batching, caching, and the latency budget."),
        session("s-lightning", "Lightning Talk: Tiny Tensors", t + timedelta(minutes=90), 10, "Founders Cafe",
                track="Frameworks & Compilers", type="Lightning Talk", level="Beginner", language="fr", speakers=["spk-alan"]),
        session("s-break", "Coffee Break", t + timedelta(minutes=120), 30, "Founders Cafe", type="Break"),
        session("s-workshop", "Hands-on: Profiling", t + timedelta(days=1), 90, "Junior Stage",
                track="Inference & Production", type="Workshop", level="Intermediate", language="en", speakers=["spk-grace"]),
    ]
    return ParsedSchedule(
        conference=ParsedConference("Test Conf 2026", "testconf-2026", "Europe/Paris", date(2026, 4, 7), date(2026, 4, 8)),
        rooms=[
            ParsedRoom("Master Stage", "Pier 1", 800, 0),
            ParsedRoom("Junior Stage", "Pier 1", 200, 1),
            ParsedRoom("Founders Cafe", "Pier 2", 80, 2),
        ],
        tracks=[ParsedTrack("Community", "#1f77b4"), ParsedTrack("Frameworks & Compilers", "#d62728"),
                ParsedTrack("Inference & Production", "#2ca02c")],
        speakers=speakers,
        sessions=sessions,
    )


def load_schedule(parsed: ParsedSchedule | None = None, now: datetime = DAY_ONE, seed: int = 7) -> ImportReport:
    """Apply ``parsed`` (default :func:`small_schedule`) through the sync service and commit."""
    report = apply_schedule(parsed or small_schedule(), now=now, rng=random.Random(seed))
    db.session.commit()
    return report
