"""Calendars: "add to calendar" for one session, the private subscription feed, the Calendar page.

``/ical/<token>.ics`` is public: the token is the secret. An unknown token and a replaced one get
the very same 404, so an answer never tells whether an address ever worked. Whose feed a token
opens is kept by each web process until the database announces a change to that person's feed or
stars (:mod:`companion.agenda.feed_owners`). The feed is served
from :data:`companion.agenda.feeds.feed_cache` with the export's caching rules
(:func:`companion.schedule.serving.cached_response`: strong ETag, gzip made once, 304) plus
Last-Modified / If-Modified-Since, and ``Cache-Control: private`` (it is one person's agenda).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from limits import RateLimitItem
from limits import parse as parse_limit
from werkzeug.http import http_date
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from companion import timeutil
from companion.accounts.access import signed_in_required
from companion.accounts.models import User
from companion.agenda import feed_owners, feeds, services
from companion.agenda.queries import starred_sessions
from companion.errors import Problem
from companion.extensions import db, limiter
from companion.schedule import cache, queries
from companion.schedule.exporters.common import session_url_builder
from companion.schedule.serving import cached_response, session_or_404
from companion.sessions import mark_public
from companion.urls import external_url

bp = Blueprint("agenda_feeds", __name__)

FEED_MAX_AGE = 300
SESSION_FILE_MAX_AGE = 60
DEFAULT_FEED_RATE_LIMIT = "60 per minute"
ALARM_LABELS = {m: f"{m} minutes before" if m else "No reminder" for m in services.ALARM_CHOICES}


@lru_cache(maxsize=8)
def _limit(text: str) -> RateLimitItem:
    return parse_limit(text)


def _within_limit(scope: str, key: str) -> bool:
    """Count one request under ``scope`` and ``key`` against the feed rate limit; False once over it.

    The limiter's own storage and settings (RATELIMIT_ENABLED, RATELIMIT_STORAGE_URI), counted
    directly: the route decorator's bookkeeping cost more per poll than the poll's query.
    """
    text = str(current_app.config.get("FEED_RATE_LIMIT") or DEFAULT_FEED_RATE_LIMIT)
    return not limiter.enabled or limiter.limiter.hit(_limit(text), scope, key)


def _too_many(what: str) -> Problem:
    return Problem(429, f"Too many requests for {what} from your address. Try again in a minute.",
                   title="Too Many Requests")


def _conditional(response: Response, last_modified: datetime | str) -> Response:
    """Add Last-Modified; answer If-Modified-Since with 304 (If-None-Match, when sent, decides instead)."""
    if isinstance(last_modified, datetime):
        last_modified = http_date(last_modified)
    response.headers["Last-Modified"] = last_modified
    if response.status_code == 200 and "If-Modified-Since" in request.headers:
        response.make_conditional(request)
    return response


def _public_url_or_host() -> str | None:
    """None with PUBLIC_URL (documents are the same for every Host); else the Host they depend on."""
    return None if current_app.config.get("PUBLIC_URL") else request.host


@bp.get("/sessions/<code>.ics")
def session_file(code: str) -> Response:
    """One session as an .ics download ("add to calendar"), with the UID of the full export.

    :raise Problem: 404 for an unknown session code.
    """
    session = session_or_404(code)
    conference = queries.get_conference()
    zone = queries.conference_zone(conference)
    body = feeds.render_session(session, conference, zone, session_url_builder()(session))
    entry = feeds.rendered_document(str(session.sequence), body)
    response = cached_response(entry, max_age=SESSION_FILE_MAX_AGE, shared=_public_url_or_host() is None)
    response.headers.set("Content-Disposition", "attachment", filename=f"{session.code}.ics")
    return _conditional(response, session.updated_at)


def _miss() -> Problem:
    """Count a request for an address that is no feed against the client's address; the answer to give.

    Only misses count here, so people polling their own feeds from behind one address (the
    venue's Wi-Fi) are not held up by someone guessing.
    """
    if not _within_limit("agenda_feeds.miss", get_remote_address()):
        return _too_many("calendar addresses that do not exist")
    # One answer for a token that never existed and for one replaced by "Get a new address".
    return Problem(404, "There is no calendar at this address. Open the Calendar page of the app for the "
                        "current link of your calendar.", title="Calendar not found")


@bp.get("/ical/<token>.ics")
def feed(token: str) -> Response:
    """A person's private calendar subscription: their starred sessions (GET and HEAD).

    Rate limits (``FEED_RATE_LIMIT``, default 60 per minute), per client address: for each token,
    and for misses (guessing tokens).

    :raise Problem: 404 for an unknown or replaced token, the same answer for both; 429 over a limit.
    """
    if not feeds.is_possible_token(token):
        raise _miss()
    if not _within_limit("agenda_feeds.feed", f"{get_remote_address()}|{token}"):
        raise _too_many("this calendar")
    max_age = float(current_app.config["SCHEDULE_CACHE_SECONDS"])
    version = cache.current_version(queries.schedule_version, max_age)
    owner = feed_owners.of_app().find(token)
    if owner is None:
        raise _miss()
    host = _public_url_or_host()

    def render() -> feeds.RenderedFeed:
        conference = queries.get_conference()
        zone = queries.conference_zone(conference)
        sessions = starred_sessions(db.session.get(User, owner.user_id)) if owner.star_count else []
        body = feeds.render_feed(sessions, conference, zone, owner.alarm_minutes, session_url_builder(),
                                 uid=feeds.feed_uid(token))
        # The render time too: removing a star leaves no trace in the database, and a client that
        # sends only If-Modified-Since must not be told that its copy with that star is current.
        last_modified = max([owner.changed_at, timeutil.now(), *(s.updated_at for s in sessions)])
        return feeds.RenderedFeed(feeds.rendered_document(version, body), http_date(last_modified))

    state = (version, owner.fingerprint, owner.alarm_minutes, host)
    entry = feeds.feed_cache.get_or_render(token, state, render)
    mark_public()  # the answer depends on the token alone, never on a cookie: no session to save
    response = cached_response(entry.rendered, max_age=FEED_MAX_AGE, shared=False)
    return _conditional(response, entry.last_modified)


# --- The Calendar page -------------------------------------------------------------------------


class AlarmForm(FlaskForm):
    """The reminder before each session in the feed."""

    minutes = SelectField("Reminder", choices=[SelectChoice("" if m is None else str(m), label)
                                               for m, label in ALARM_LABELS.items()])


class NewAddressForm(FlaskForm):
    """"Get a new address" (the CSRF token is the only field)."""


def feed_links(token: str) -> dict[str, str]:
    """The feed's three addresses: ``https`` (``http`` in a demo), ``webcal`` and Google Calendar's subscribe link."""
    https = external_url("agenda_feeds.feed", token=token)
    webcal = "webcal://" + https.split("://", 1)[1]
    google = "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")
    return {"https": https, "webcal": webcal, "google": google}


def _user() -> User:
    return current_user._get_current_object()  # noqa: SLF001 - the User behind the proxy


def _page(alarm_form: AlarmForm | None = None, status: int = 200) -> ResponseReturnValue:
    feed_row = services.calendar_feed(_user(), now=timeutil.now())
    db.session.commit()
    if alarm_form is None:
        alarm_form = AlarmForm(minutes="" if feed_row.alarm_minutes is None else str(feed_row.alarm_minutes))
    html = render_template("agenda/calendar.html", links=feed_links(feed_row.token), alarm_form=alarm_form,
                           new_address_form=NewAddressForm(), alarm_minutes=feed_row.alarm_minutes)
    response = current_app.make_response((html, status))
    # The page shows the secret address: no cache may keep it (nor the service worker).
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/agenda/calendar")
@signed_in_required
def calendar() -> ResponseReturnValue:
    """The Calendar page: the subscription links, the reminder setting and "Get a new address"."""
    return _page()


@bp.post("/agenda/calendar/alarm")
@signed_in_required
def set_alarm() -> ResponseReturnValue:
    """Save the reminder choice; the feed carries it from its next poll."""
    form = AlarmForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    minutes = int(form.minutes.data) if form.minutes.data else None
    services.set_alarm(_user(), minutes, now=timeutil.now())
    db.session.commit()
    flash(f"Reminders set: {minutes} minutes before each session." if minutes else "Reminders turned off.")
    return redirect(url_for(".calendar"), code=303)


@bp.post("/agenda/calendar/new-address")
@signed_in_required
def new_address() -> ResponseReturnValue:
    """Replace the feed's address; the old one answers 404 from now on."""
    if not NewAddressForm().validate_on_submit():
        return _page(status=400)
    services.regenerate_feed(_user(), now=timeutil.now())
    db.session.commit()
    flash("Your calendar has a new address. The old one has stopped working: remove the old subscription "
          "from your calendars and subscribe again with a link below.")
    return redirect(url_for(".calendar"), code=303)
