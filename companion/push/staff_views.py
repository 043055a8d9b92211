"""Staff pages for push: announcements (write, preview, send or schedule) and the push health panel.

An announcement takes two steps: "Preview" checks it and says how many people and devices it
would reach now, saving nothing; the preview's "Send" (or "Schedule") button posts the same values
again with ``confirm=1``, and only then is it saved, audited and committed once. Times typed on the
form are the conference's wall-clock times.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import escape
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from companion import timeutil
from companion.accounts.access import staff_required
from companion.accounts.forms import strip_whitespace
from companion.accounts.services import record
from companion.extensions import db
from companion.push import audiences, health
from companion.push.announcements import (
    BODY_MAX,
    LINK_MAX,
    TITLE_MAX,
    AlreadyCreated,
    create_announcement,
    recent_announcements,
)
from companion.push.models import Announcement
from companion.push.services import PushInputError
from companion.schedule.queries import conference_zone, get_conference
from companion.sessions import not_stored
from companion.staff import links

bp = Blueprint("push_staff", __name__, url_prefix="/staff")

links.register("Announcements", "push_staff.announcements", roles=("staff",),
               description="Push a message to everyone or to a group, now or at a set time; see who got it.")
links.register("Push health", "push_staff.health_panel", roles=("staff",),
               description="Devices by push service, deliveries and failures in the last hour, the queue, "
                           "refused devices.")

LISTED = 20
REFRESH_SECONDS = 30
CHART_WIDTH, CHART_ROW, CHART_PAD, CHART_COUNT_ROOM = 340, 40, 8, 56
CHART_FONT = 'font-family="system-ui, sans-serif"'


def _one_newline(value: str | None) -> str | None:
    # Browsers send a textarea's (and a hidden field's) line breaks as CRLF: count them as one character.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


class AnnouncementForm(FlaskForm):
    """The announcement's fields. The service checks them (one set of rules for pages, API and CLI);
    the form only carries them and the CSRF token."""

    title = StringField("Title", filters=[strip_whitespace])
    body = TextAreaField("Text", filters=[strip_whitespace, _one_newline])
    link = StringField("Link (optional)", filters=[strip_whitespace])
    audience = SelectField("Audience", validate_choice=False)
    send_at = StringField("Send at (optional)", filters=[strip_whitespace])
    confirm = HiddenField()
    request_key = HiddenField()  # made at preview: pressing "Send" twice saves one announcement


@dataclass(frozen=True)
class Preview:
    """What the checked announcement would do if sent now."""

    people: int
    devices: int
    send_at: datetime | None  # None: at once
    late: bool = False  # a time was given, but it has passed: at once


def _zone() -> ZoneInfo:
    return conference_zone(get_conference())


def _form() -> AnnouncementForm:
    form = AnnouncementForm()
    form.audience.choices = [(audience.key, audience.label) for audience in audiences.choices()]
    return form


def parse_send_at(text: str | None, zone: ZoneInfo) -> datetime | None:
    """The form's "send at" (the conference's wall-clock time, ``2026-04-07T15:30``) as a UTC instant.

    :return: None for an empty field (send at once).
    :raise PushInputError: not a date and time, or a time the clocks skip in ``zone``.
    """
    text = (text or "").strip()
    if not text:
        return None
    unreadable = PushInputError("send_at", "Give the date and time as 2026-04-07 15:30, or leave it empty to send now.")
    try:
        moment = datetime.fromisoformat(text)
        if len(text) < len("2026-04-07T15:30"):  # a date alone would mean midnight: ask for the time
            raise unreadable
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        instant = moment.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        raise unreadable from None
    if instant.astimezone(zone).replace(tzinfo=None) != moment:
        raise PushInputError("send_at", f"{moment:%H:%M} on {moment.day} {moment:%B} does not exist in {zone.key}: "
                                        "the clocks go forward then. Choose another time.")
    return instant


def _create(form: AnnouncementForm, send_at: datetime | None, *, now: datetime) -> Announcement:
    """Save the form's announcement (flushed, not committed).

    :raise PushInputError: what the service refuses.
    :raise AlreadyCreated: the confirm form was sent before.
    """
    key = None
    if form.confirm.data == "1" and form.request_key.data:
        key = form.request_key.data[:64]
    return create_announcement(current_user._get_current_object(), title=form.title.data or "",  # noqa: SLF001
                               body=form.body.data or "", link=form.link.data or None,
                               audience=form.audience.data or "", send_at=send_at, now=now, rng=random.SystemRandom(),
                               request_key=key)


def _page(form: AnnouncementForm, *, zone: ZoneInfo, now: datetime, preview: Preview | None = None,
          error: PushInputError | None = None, status: int = 200) -> Response:
    listed = recent_announcements(LISTED)
    html = render_template(
        "push/staff_announcements.html", form=form, zone=zone, now=now, preview=preview,
        errors={error.loc: str(error)} if error else {}, announcements=listed,
        aria={error.loc: {"aria-invalid": "true", "aria-describedby": f"{error.loc}-error"}} if error else {},
        labels={audience.key: audience.label for audience in audiences.choices()},
        deliveries=health.announcement_deliveries([a.code for a in listed]),
        title_max=TITLE_MAX, body_max=BODY_MAX, link_max=LINK_MAX)
    return not_stored((html, status))


@bp.get("/announcements")
@staff_required
def announcements() -> ResponseReturnValue:
    """The announcement form (empty) and the latest announcements with their state."""
    form = _form()
    if not form.audience.data and form.audience.choices:
        form.audience.data = form.audience.choices[0][0]
    return _page(form, zone=_zone(), now=timeutil.now())


@bp.post("/announcements")
@staff_required
def announce() -> ResponseReturnValue:
    """Preview (no ``confirm``): the service checks the announcement, it is rolled back, and the page
    says how many people and devices it would reach now. Send (``confirm=1``): saved, audited,
    committed once, then back to the list (303). A refusal shows the form again with 400, nothing saved."""
    form = _form()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the announcements page again.")
    zone, now = _zone(), timeutil.now()
    confirmed = form.confirm.data == "1"
    try:
        send_at = parse_send_at(form.send_at.data, zone)
        announcement = _create(form, send_at, now=now)
        people, devices = audiences.count(announcement.audience, now=now)
    except PushInputError as error:
        db.session.rollback()
        return _page(form, zone=zone, now=now, error=error, status=400)
    except AlreadyCreated:
        db.session.rollback()
        flash("This announcement was already saved (the button was pressed twice); it is not sent again.")
        return redirect(url_for(".announcements"), 303)
    if not confirmed:
        db.session.rollback()
        form.request_key.data = secrets.token_urlsafe(32)
        later = send_at is not None and send_at > now
        preview = Preview(people, devices, send_at if later else None, late=send_at is not None and not later)
        return _page(form, zone=zone, now=now, preview=preview)
    author = current_user._get_current_object()  # noqa: SLF001
    record(author, "announcement.create", announcement.code, now=now, title=announcement.title,
           audience=announcement.audience, link=announcement.link, send_at=announcement.send_at.isoformat(),
           people=people, devices=devices)
    db.session.commit()
    label = audiences.get(announcement.audience).label  # type: ignore[union-attr] - the service checked it
    reach = f"{_count(people, 'person', 'people')} on {_count(devices, 'device', 'devices')}"
    if announcement.send_at <= now:
        flash(f"“{announcement.title}” is on its way to {label}: {reach}.")
    else:
        local = announcement.send_at.astimezone(zone)
        flash(f"“{announcement.title}” is scheduled for {local:%a} {local.day} {local:%b %H:%M} ({zone.key}), "
              f"to {label}: {reach} as of now.")
    return redirect(url_for(".announcements"), 303)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def hosts_chart(hosts: Sequence[health.HostCount]) -> str:
    """Live devices by push service as a horizontal bar chart: a standalone SVG document.

    Drawn on the server with presentation attributes only (the strict CSP forbids ``style``); the
    page shows it as a ``data:`` image, so it scales down on a phone like the check-in chart.
    """
    description = escape(hosts_description(hosts))
    height = chart_height(hosts)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {height}" width="{CHART_WIDTH}" '
             f'height="{height}" role="img" aria-label="{description}"><title>{description}</title>',
             f'<rect x="0" y="0" width="{CHART_WIDTH}" height="{height}" fill="#ffffff"/>']
    if not hosts:
        parts.append(f'<text x="{CHART_WIDTH / 2:g}" y="{height / 2 + 5:g}" text-anchor="middle" font-size="14" '
                     f'fill="#555555" {CHART_FONT}>No devices subscribed yet</text>')
    top = max((host.live for host in hosts), default=0) or 1
    plot = CHART_WIDTH - 2 * CHART_PAD - CHART_COUNT_ROOM
    for index, host in enumerate(hosts):
        y = CHART_PAD + index * CHART_ROW
        width = plot * host.live / top
        parts.append(f'<text x="{CHART_PAD}" y="{y + 13}" font-size="13" fill="#1a1a1a" {CHART_FONT}>'
                     f'{escape(host.host)}</text>')
        parts.append(f'<rect x="{CHART_PAD}" y="{y + 19}" width="{width:.1f}" height="14" fill="#16325c"/>')
        parts.append(f'<text x="{CHART_PAD + width + 6:.1f}" y="{y + 31}" font-size="13" font-weight="700" '
                     f'fill="#1a1a1a" {CHART_FONT}>{host.live:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def chart_height(hosts: Sequence[health.HostCount]) -> int:
    """The chart's height: a row per host (one row for the "none yet" line)."""
    return CHART_PAD * 2 + max(1, len(hosts)) * CHART_ROW


def hosts_description(hosts: Sequence[health.HostCount]) -> str:
    """The chart in words, for its alt text."""
    if not hosts:
        return "Live devices by push service: none yet."
    return "Live devices by push service: " + ", ".join(f"{host.host}: {host.live:,}" for host in hosts) + "."


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def format_age(age: timedelta | None) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``: how long the oldest due message has waited."""
    if age is None:
        return "nothing due"
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@bp.get("/push")
@staff_required
def health_panel() -> ResponseReturnValue:
    """The push health panel; ``?auto=1`` reloads it every 30 seconds."""
    auto = request.args.get("auto") == "1"
    report = health.push_health(timeutil.now())
    html = render_template("push/staff_health.html", health=report, zone=_zone(),
                           age=format_age(report.oldest_due_age), chart=_data_uri(hosts_chart(report.hosts)),
                           chart_description=hosts_description(report.hosts), chart_height=chart_height(report.hosts),
                           chart_width=CHART_WIDTH, auto=auto, refresh_seconds=REFRESH_SECONDS)
    return not_stored(html)
