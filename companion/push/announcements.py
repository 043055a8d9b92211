"""Announcements written by staff: checked, counted, then planned by a worker at their time."""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.codes import new_code
from companion.extensions import db
from companion.push import audiences
from companion.push.models import Announcement
from companion.push.services import PushInputError, compose

TITLE_MAX = 120
BODY_MAX = 1000
LINK_MAX = 500


class AlreadyCreated(Exception):
    """The request that creates this announcement was made before (a double tap, a replay).

    After it the session must be rolled back (it may come from a failed INSERT).
    """


def check_link(link: str | None) -> str | None:
    """A link in an announcement: a path of this site (``/sessions/AB12``) or an https address.

    :raise PushInputError: anything else (``javascript:``, ``http://``, ``//host``).
    """
    link = (link or "").strip()
    if not link:
        return None
    if len(link) > LINK_MAX:
        raise PushInputError("link", f"The link must have at most {LINK_MAX} characters.")
    parts = urlsplit(link)
    if link.startswith("/") and not link.startswith("//") and not parts.scheme:
        return link
    if parts.scheme == "https" and parts.hostname:
        return link
    raise PushInputError("link", "The link must be a page of this site (starting with /) or an https:// address.")


def create_announcement(author: User, *, title: str, body: str, link: str | None, audience: str,
                        send_at: datetime | None, now: datetime, rng: random.Random,
                        request_key: str | None = None) -> Announcement:
    """Save an announcement for a worker to send at ``send_at`` (now if None or past).

    ``request_key``, when given, is unique: the same request made twice saves one announcement.

    :raise PushInputError: an empty or too long title or text, a bad link, an unknown audience, a
        message over 3 KB, a time more than 30 days ahead, or an audience nobody in it would
        receive (it says so rather than pretending to send).
    :raise AlreadyCreated: an announcement with this ``request_key`` exists.
    """
    if request_key and _by_request_key(request_key) is not None:
        raise AlreadyCreated(request_key)
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
    announcement = Announcement(code=new_code(rng, taken, 8), title=title, body=body, link=link, audience=audience,
                                send_at=when, created_by_id=author.id, created_at=now, request_key=request_key)
    db.session.add(announcement)
    try:
        db.session.flush()
    except IntegrityError as exc:
        # A concurrent twin with the same key committed first: the unique constraint decided.
        if request_key and "request_key" in str(exc.orig):
            raise AlreadyCreated(request_key) from None
        raise
    return announcement


def _by_request_key(key: str) -> Announcement | None:
    return db.session.scalars(select(Announcement).where(Announcement.request_key == key)).first()


def recent_announcements(limit: int = 50) -> list[Announcement]:
    """The latest announcements, newest first."""
    return list(db.session.scalars(select(Announcement).order_by(Announcement.created_at.desc(), Announcement.id.desc())
                                   .limit(limit)))
