"""Announcements written by staff: checked, counted, then planned by a worker at their time."""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from companion.accounts.models import User
from companion.codes import new_code
from companion.extensions import db
from companion.push import audiences
from companion.push.models import Announcement
from companion.push.services import PushInputError, compose

TITLE_MAX = 120
BODY_MAX = 1000


def check_link(link: str | None) -> str | None:
    """A link in an announcement: a path of this site (``/sessions/AB12``) or an https address.

    :raise PushInputError: anything else (``javascript:``, ``http://``, ``//host``).
    """
    link = (link or "").strip()
    if not link:
        return None
    parts = urlsplit(link)
    if link.startswith("/") and not link.startswith("//") and not parts.scheme:
        return link
    if parts.scheme == "https" and parts.hostname:
        return link
    raise PushInputError("link", "The link must be a page of this site (starting with /) or an https:// address.")


def create_announcement(author: User, *, title: str, body: str, link: str | None, audience: str,
                        send_at: datetime | None, now: datetime, rng: random.Random) -> Announcement:
    """Save an announcement for a worker to send at ``send_at`` (now if None or past).

    :raise PushInputError: an empty or too long title or text, a bad link, an unknown audience, a
        message over 3 KB, a time more than 30 days ahead, or an audience nobody in it would
        receive (it says so rather than pretending to send).
    """
    title, body = (title or "").strip(), (body or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise PushInputError("title", f"The title must have 1 to {TITLE_MAX} characters.")
    if not body or len(body) > BODY_MAX:
        raise PushInputError("body", f"The text must have 1 to {BODY_MAX} characters.")
    link = check_link(link)
    if audiences.get(audience) is None:
        raise PushInputError("audience", f"There is no audience {audience!r}.")
    compose(title, body, link or "/", tag="announcement-XXXXXXXX")
    people, _ = audiences.count(audience, now=now)
    if people == 0:
        raise PushInputError("audience", f"Nobody in “{audiences.get(audience).label}” has notifications turned on: "
                                         "there is no one to send this to.")
    when = max(send_at or now, now)
    if (when - now).days > 30:
        raise PushInputError("send_at", "The sending time must be within 30 days.")
    taken = set(db.session.scalars(select(Announcement.code)))
    announcement = Announcement(code=new_code(rng, taken, 8), title=title, body=body, link=link, audience=audience, send_at=when,
                                created_by_id=author.id, created_at=now)
    db.session.add(announcement)
    db.session.flush()
    return announcement


def recent_announcements(limit: int = 50) -> list[Announcement]:
    """The latest announcements, newest first."""
    return list(db.session.scalars(select(Announcement).order_by(Announcement.created_at.desc(), Announcement.id.desc())
                                   .limit(limit)))
