"""Attendee-facing schedule pages: the schedule by day and time slot, a session, a speaker, a room.

Each view parses and validates its input (a bad value is a 400 naming the parameter), loads
what it shows (404 if missing), asks :mod:`companion.schedule.listing` to arrange it, and
renders. Times are shown in the conference's zone; static/js/timezone.js switches them to the
browser's zone on request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from companion import timeutil
from companion.errors import Problem
from companion.schedule.serving import session_or_404
from companion.schedule import listing, queries
from companion.schedule.models import Track

bp = Blueprint("schedule", __name__)

DEFAULT_SITE_TITLE = "Conference Companion"
_DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
_COLOUR_PATTERN = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
_SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
# Tracks without a colour in the source get one of these, chosen by slug (stable across imports).
FALLBACK_TRACK_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf")
_TRUE = ("1", "on", "true", "yes")
_FALSE = ("", "0", "off", "false", "no")


# --- template helpers (display only) -------------------------------------------------------


@bp.app_template_filter("utc_iso")
def utc_iso(moment: datetime) -> str:
    """``2026-04-07T07:00:00Z``: the machine-readable instant for ``<time datetime>``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.app_template_filter("local_time")
def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """``09:00``: the wall-clock time of ``moment`` in ``tz``."""
    return moment.astimezone(tz).strftime("%H:%M")


@bp.app_template_filter("day_label")
def day_label(day: date) -> str:
    """``Tue 7 Apr``: a short day name for tabs and headings."""
    return f"{day:%a} {day.day} {day:%b}"


@bp.app_template_filter("long_day")
def long_day(day: date) -> str:
    """``Tuesday 7 April 2026``."""
    return f"{day:%A} {day.day} {day:%B %Y}"


@bp.app_context_processor
def _site() -> dict[str, object]:
    return {"site_title": site_title()}


def site_title() -> str:
    """The conference's title for the page header (a default before the first import)."""
    try:
        conference = queries.get_conference()
    except SQLAlchemyError:  # an error page must render even when the database is the error
        return DEFAULT_SITE_TITLE
    return conference.title if conference else DEFAULT_SITE_TITLE


# --- input ---------------------------------------------------------------------------------


def _bad(name: str, message: str) -> Problem:
    return Problem(400, f"Parameter '{name}': {message}", title="Bad Request",
                   errors=[{"loc": f"query.{name}", "msg": message}])


def _parse_day(args: Mapping[str, str], days: Sequence[date]) -> date | None:
    raw = args.get("day", "").strip()
    if not raw:
        return None
    if not _DAY_PATTERN.fullmatch(raw):
        raise _bad("day", f"{raw!r} is not a date; use YYYY-MM-DD.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise _bad("day", f"{raw!r} is not a date; use YYYY-MM-DD.") from None
    if day not in days:
        listed = ", ".join(d.isoformat() for d in days)
        raise _bad("day", f"{raw} is not a day of the conference ({listed}).")
    return day


def _choice(args: Mapping[str, str], name: str, allowed: Sequence[str], what: str) -> str | None:
    value = args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        raise _bad(name, f"unknown {what} {value!r}; pick one from the list or leave it empty.")
    return value


def _parse_filters(args: Mapping[str, str], rooms: Sequence[str], tracks: Sequence[str],
                   types: Sequence[str], levels: Sequence[str]) -> listing.Filters:
    q = args.get("q", "").strip()
    if len(q) > listing.MAX_QUERY_LENGTH:
        raise _bad("q", f"the search is longer than {listing.MAX_QUERY_LENGTH} characters.")
    hide_past = args.get("hide_past", "").strip().lower()
    if hide_past not in _TRUE + _FALSE:
        raise _bad("hide_past", f"{hide_past!r} is not a yes/no value; use 1 or leave it out.")
    return listing.Filters(
        room=_choice(args, "room", rooms, "room"),
        track=_choice(args, "track", tracks, "track"),
        type=_choice(args, "type", types, "session type"),
        level=_choice(args, "level", levels, "level"),
        q=q,
        hide_past=hide_past in _TRUE,
    )


# --- pages ---------------------------------------------------------------------------------


@bp.get("/")
def home() -> Response:
    """The start page is the schedule."""
    return redirect(url_for("schedule.index"))


@bp.get("/schedule")
def index() -> str:
    """One conference day as a list per time slot, with filters, search and now/next."""
    conference = queries.get_conference()
    tz = queries.conference_zone(conference)
    now = timeutil.now()
    sessions = queries.all_sessions()
    rooms, tracks = queries.all_rooms(), queries.all_tracks()
    types, levels = listing.distinct_values(sessions, "type"), listing.distinct_values(sessions, "level")
    days = listing.conference_days(sessions, tz, conference.start_date, conference.end_date) if conference else []

    filters = _parse_filters(request.args, [r.slug for r in rooms], [t.slug for t in tracks], types, levels)
    if conference is None or not sessions:
        return render_template("schedule/index.html", conference=conference, empty_schedule=True,
                               tz=tz, zone=listing.zone_label(tz, now), filters=filters)
    day = _parse_day(request.args, days) or listing.default_day(days, now, tz)
    assert day is not None  # days is not empty when there are sessions

    on_day = listing.sessions_on(sessions, day, tz)
    shown = listing.filter_sessions(on_day, filters, now)
    matching = listing.filter_sessions(sessions, filters, now) if filters.active else sessions
    now_next = listing.now_and_next(matching, now) if listing.is_on(days, now, tz) else None
    # With filters on, the day tabs say how many sessions match on each day.
    matches_by_day = listing.count_by_day(matching, tz) if filters.active else None
    other_matches = [(d, n) for d, n in (matches_by_day or {}).items() if d != day and n]
    noon = datetime.combine(day, time(12), tzinfo=tz)
    return render_template(
        "schedule/index.html",
        conference=conference, empty_schedule=False, tz=tz, zone=listing.zone_label(tz, noon),
        days=days, day=day, filters=filters, rooms=rooms, tracks=tracks, types=types, levels=levels,
        slots=listing.group_into_slots(shown), day_count=len(on_day), shown_count=len(shown),
        now_next=now_next, now=now, matches_by_day=matches_by_day, other_matches=other_matches,
    )


@bp.get("/sessions/<code>")
def session(code: str) -> str:
    """One session: time, room, track, abstract, description, speakers, links."""
    found = session_or_404(code)
    conference = queries.get_conference()
    tz = queries.conference_zone(conference)
    return render_template(
        "schedule/session.html", session=found, tz=tz, zone=listing.zone_label(tz, found.starts_at),
        day=listing.conference_day(found.starts_at, tz), abstract=listing.paragraphs(found.abstract),
        description=listing.paragraphs(found.description), links=listing.safe_links(found.links),
    )


@bp.get("/speakers/<code>")
def speaker(code: str) -> str:
    """One speaker: name, organisation, position, biography and their sessions."""
    found = queries.speaker_by_code(code)
    if found is None:
        raise Problem(404, f"There is no speaker with the code '{code}'.", title="Speaker not found")
    tz = queries.conference_zone(queries.get_conference())
    sessions = sorted((link.session for link in found.session_links), key=lambda s: s.starts_at)
    first = sessions[0].starts_at if sessions else timeutil.now()
    return render_template(
        "schedule/speaker.html", speaker=found, tz=tz, zone=listing.zone_label(tz, first),
        biography=listing.paragraphs(found.biography), by_day=listing.group_by_day(sessions, tz),
    )


@bp.get("/rooms/<slug>")
def room(slug: str) -> str:
    """One room: building, capacity, what runs in it now and next, then its whole programme."""
    found = queries.room_by_slug(slug)
    if found is None:
        raise Problem(404, f"There is no room '{slug}'.", title="Room not found")
    tz = queries.conference_zone(queries.get_conference())
    now = timeutil.now()
    sessions = list(queries.sessions_in_room(found))
    return render_template(
        "schedule/room.html", room=found, tz=tz, zone=listing.zone_label(tz, sessions[0].starts_at if sessions else now),
        now_next=listing.now_and_next(sessions, now), by_day=listing.group_by_day(sessions, tz), now=now,
    )


@bp.get("/schedule/tracks.css")
def tracks_css() -> Response:
    """A rule per track (``.track-<slug> { --track: #rrggbb }``): track colours are data, and the
    CSP forbids inline styles. Revalidated by ETag, so a colour change shows at once."""
    body = track_stylesheet(queries.all_tracks())
    response = current_app.response_class(body, mimetype="text/css")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.no_cache = True
    response.cache_control.public = True
    return response.make_conditional(request)


def track_stylesheet(tracks: Sequence[Track]) -> str:
    """The CSS for ``tracks``: only well-formed slugs and ``#rgb``/``#rrggbb`` colours get in."""
    rules = ["/* Track colours, generated from the schedule. */"]
    for track in tracks:
        if not _SLUG_PATTERN.fullmatch(track.slug):
            continue
        colour = track.colour if track.colour and _COLOUR_PATTERN.fullmatch(track.colour) else None
        if colour is None:
            index = int(hashlib.sha256(track.slug.encode()).hexdigest(), 16) % len(FALLBACK_TRACK_COLOURS)
            colour = FALLBACK_TRACK_COLOURS[index]
        rules.append(f".track-{track.slug}{{--track:{colour.lower()}}}")
    return "\n".join(rules) + "\n"
