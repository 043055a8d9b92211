"""Agenda pages: "My agenda", the star buttons' form fallback, sharing, and the shared agenda.

Each view parses its input, loads what it acts on (404 if missing), checks access, calls one
service, commits once and renders or redirects. The star buttons on the schedule pages are forms
that work without JavaScript; static/js/stars.js turns them into instant toggles (and keeps the
stars of people who are not signed in on their phone).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from companion import timeutil
from companion.accounts import my_data
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.agenda import planning, queries, services
from companion.badges.qr import qr_svg
from companion.errors import Problem
from companion.extensions import db
from companion.schedule.serving import session_or_404
from companion.schedule import listing
from companion.schedule import queries as schedule_queries
from companion.schedule.models import Session
from companion.urls import external_url

bp = Blueprint("agenda", __name__)

my_data.register_exporter("starred_sessions", queries.export_stars)
my_data.register_exporter("agenda_links", queries.export_agenda_links)
my_data.register_deleter("agenda", services.forget_agenda)

SHARE_NOT_FOUND = "This shared agenda does not exist, or its owner stopped sharing it."


def _me() -> User:
    return current_user._get_current_object()  # noqa: SLF001


def _private(body: ResponseReturnValue) -> Response:
    """A page for one person: never in a shared cache (the phone's own cache may keep it)."""
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-cache"
    return response



def _back(default: str) -> str:
    """Where a star form came from: a local path only (no open redirect)."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and not parts.netloc:
        return target
    return default


# --- template globals for the star buttons (the schedule's macros import without context) ----


@bp.app_template_global("agenda_signed_in")
def signed_in() -> bool:
    """True if someone is signed in (their stars are on the server, not on the phone)."""
    return bool(current_user.is_authenticated)


@bp.app_template_global("agenda_is_starred")
def is_starred(code: str) -> bool:
    """True if the signed-in person starred the session ``code`` (loaded once per request)."""
    if not current_user.is_authenticated:
        return False
    if "agenda_starred" not in g:
        g.agenda_starred = queries.starred_codes(_me())
    return code in g.agenda_starred


@bp.app_template_filter("agenda_duration")
def duration(span: timedelta) -> str:
    """``45 min``, ``1 h 15 min``: free time between two sessions."""
    return planning.describe_duration(span)


@bp.app_template_global("agenda_here")
def here() -> str:
    """This page's path and query, for a form to come back to."""
    return request.full_path.rstrip("?")


# --- My agenda -------------------------------------------------------------------------------


@bp.get("/agenda")
@signed_in_required
def agenda() -> ResponseReturnValue:
    """My starred sessions by day and time: overlaps, free time, walking hints, changes, now/next."""
    user = _me()
    conference = schedule_queries.get_conference()
    zone = schedule_queries.conference_zone(conference)
    now = timeutil.now()
    sessions = queries.starred_sessions(user)
    plan = planning.plan_agenda(sessions, queries.walking_times(), zone, now)
    unseen = queries.unseen_changes(user)
    notes = {s.code: planning.describe_changes(unseen[s.id], zone) for s in sessions if s.id in unseen}
    share = queries.share_of(user)
    share_url = external_url("agenda.shared", token=share.token) if share else None
    shown_at = sessions[0].starts_at if sessions else now
    days = listing.conference_days(sessions, zone, conference.start_date, conference.end_date) if conference else []
    html = render_template(
        "agenda/agenda.html", plan=plan, tz=zone, zone=listing.zone_label(zone, shown_at), now=now,
        count=len(sessions), notes={code: n for code, n in notes.items() if n}, share=share, share_url=share_url,
        show_now_next=bool(sessions) and listing.is_on(days, now, zone),
    )
    return _private(html)


@bp.post("/agenda/seen")
@signed_in_required
def mark_seen() -> ResponseReturnValue:
    """Mark every change to my starred sessions as seen: the marks go until the next change."""
    services.mark_seen(_me())
    db.session.commit()
    return redirect(url_for("agenda.agenda"), 303)


@bp.post("/agenda/star/<code>")
@signed_in_required
def star(code: str) -> ResponseReturnValue:
    """Star a session (the form behind a star button, for phones without JavaScript)."""
    session = session_or_404(code)
    services.star(_me(), session, now=timeutil.now())
    db.session.commit()
    return redirect(_back(url_for("schedule.session", code=session.code)), 303)


@bp.post("/agenda/unstar/<code>")
@signed_in_required
def unstar(code: str) -> ResponseReturnValue:
    """Remove a star (the form behind a pressed star button)."""
    session = session_or_404(code)
    services.unstar(_me(), session)
    db.session.commit()
    return redirect(_back(url_for("schedule.session", code=session.code)), 303)


# --- sharing ---------------------------------------------------------------------------------


@bp.post("/agenda/share")
@signed_in_required
def share() -> ResponseReturnValue:
    """Turn the read-only share link on (``share=on``) or off (anything else: the link 404s at once)."""
    turn_on = request.form.get("share") == "on"
    if turn_on:
        services.share_agenda(_me(), now=timeutil.now())
    else:
        services.stop_sharing(_me())
    db.session.commit()
    return redirect(url_for("agenda.agenda", _anchor="share"), 303)


def _shared_or_404(token: str) -> tuple[User, list[Session]]:
    found = queries.share_by_token(token)
    if found is None:
        # The same answer for a link never made and one turned off: nothing to learn from it.
        raise Problem(404, SHARE_NOT_FOUND, title="Shared agenda not found")
    owner = found[1]
    return owner, list(queries.starred_sessions(owner))


def first_name(name: str) -> str:
    """The first word of a person's name: all a shared agenda says about whose it is."""
    words = name.split()
    return words[0] if words else "Someone"


@bp.get("/agenda/shared/<token>")
def shared(token: str) -> ResponseReturnValue:
    """Someone's agenda, read-only: their first name and their starred sessions by day."""
    owner, sessions = _shared_or_404(token)
    zone = schedule_queries.conference_zone(schedule_queries.get_conference())
    html = render_template(
        "agenda/shared.html", token=token, owner_name=first_name(owner.name), tz=zone,
        zone=listing.zone_label(zone, sessions[0].starts_at if sessions else timeutil.now()),
        by_day=listing.group_by_day(sessions, zone), codes=[s.code for s in sessions],
        mine=bool(current_user.is_authenticated and current_user.id == owner.id),
    )
    response = _private(html)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/agenda/shared/<token>/qr.svg")
def shared_qr(token: str) -> ResponseReturnValue:
    """The QR code of a share link, as SVG (404 like the link itself once sharing is off)."""
    _shared_or_404(token)
    payload = external_url("agenda.shared", token=token)
    response = current_app.make_response(qr_svg(payload))
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(hashlib.sha256(payload.encode()).hexdigest()[:32])
    return response.make_conditional(request)


@bp.post("/agenda/shared/<token>/add")
@signed_in_required
def add_shared(token: str) -> ResponseReturnValue:
    """Add these to my agenda: star every session of a shared agenda (the ones I have stay)."""
    _, sessions = _shared_or_404(token)
    services.merge_device_stars(_me(), [s.code for s in sessions], now=timeutil.now())
    db.session.commit()
    return redirect(url_for("agenda.agenda"), 303)
