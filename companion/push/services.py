"""Push services: devices subscribe and unsubscribe, people choose what they want, and any feature
queues a notification with :func:`notify` (the raffle tells its winners through it).

Services flush; the view, API function, CLI command or worker commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from companion.accounts.models import User
from companion.extensions import db
from companion.push.models import LEAD_MINUTES, PushMessage, PushPreferences, PushSubscription
from companion.push.vapid import b64url_decode, is_local_host

MAX_PAYLOAD_BYTES = 3 * 1024  # push services refuse more than about 4 KB once encrypted; keep under 3 KB
DEFAULT_TTL = timedelta(hours=12)
INSERT_CHUNK = 500


class PushInputError(ValueError):
    """Bad input for a push service: ``loc`` names the field, the message says what was wrong."""

    def __init__(self, loc: str, message: str) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class Preferences:
    """What a person wants pushed (the defaults when they never chose)."""

    reminders: bool = True
    lead_minutes: int = 10
    change_alerts: bool = True
    announcements: bool = True


# --- Subscriptions ------------------------------------------------------------------------------


def check_subscription(endpoint: object, p256dh: object, auth: object, *, allow_local: bool) -> tuple[str, str, str]:
    """Validate a browser's PushSubscription; return (endpoint, p256dh, auth) cleaned.

    :param allow_local: accept ``http://`` and private or loopback hosts (demo, development, tests
        against the local push service emulator); production refuses them.
    :raise PushInputError: a missing or malformed part, naming it.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise PushInputError("endpoint", "The subscription has no endpoint.")
    endpoint = endpoint.strip()
    if len(endpoint) > 1024:
        raise PushInputError("endpoint", "The endpoint is longer than 1024 characters.")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PushInputError("endpoint", "The endpoint must be an https:// address of a push service.")
    if not allow_local:
        if parts.scheme != "https":
            raise PushInputError("endpoint", "The endpoint must be an https:// address of a push service.")
        if is_local_host(parts.hostname):
            raise PushInputError("endpoint", f"The endpoint's host {parts.hostname!r} is a private or local address, "
                                             "not a push service.")
    for loc, value, size in (("keys.p256dh", p256dh, 65), ("keys.auth", auth, 16)):
        if not isinstance(value, str) or not value:
            raise PushInputError(loc, f"The subscription has no {loc}.")
        try:
            raw = b64url_decode(value)
        except ValueError:
            raise PushInputError(loc, f"{loc} is not base64url.") from None
        if len(raw) != size:
            raise PushInputError(loc, f"{loc} must be {size} bytes, not {len(raw)}.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(str(p256dh)))
    except ValueError:
        raise PushInputError("keys.p256dh", "keys.p256dh is not a point on the P-256 curve.") from None
    return endpoint, str(p256dh), str(auth)


def subscribe(user: User, endpoint: str, p256dh: str, auth: str, *, now: datetime) -> PushSubscription:
    """Save a device's subscription for ``user`` (validated by :func:`check_subscription` first).

    The endpoint is unique: a device that subscribes again updates its row (new keys, cleared
    flag), and a phone handed to another person moves to that person.
    """
    host = urlsplit(endpoint).hostname or ""
    values = {"user_id": user.id, "endpoint": endpoint, "p256dh": p256dh, "auth": auth, "service_host": host,
              "created_at": now, "flagged_at": None, "flag_reason": None}
    module = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(PushSubscription).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["endpoint"],
        set_={key: statement.excluded[key] for key in ("user_id", "p256dh", "auth", "service_host", "flagged_at",
                                                      "flag_reason")},
    )
    db.session.execute(statement)  # atomic: two tabs subscribing at once leave one row
    return db.session.scalars(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                              .execution_options(populate_existing=True)).one()


def unsubscribe(user: User, endpoint: str) -> bool:
    """Forget ``user``'s device with this endpoint. :return: True if there was one."""
    result = db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                                               PushSubscription.endpoint == endpoint))
    return bool(result.rowcount)


def replace_subscription(old_endpoint: str, endpoint: str, p256dh: str, auth: str) -> PushSubscription | None:
    """The browser renewed a subscription (``pushsubscriptionchange``): move the row to the new one.

    Knowing the old endpoint is the proof: it is a secret only the device and we hold.
    :return: the updated subscription; None if no subscription has ``old_endpoint``.
    """
    existing = db.session.scalars(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).first()
    old = db.session.scalars(select(PushSubscription).where(PushSubscription.endpoint == old_endpoint)).first()
    if old is None:
        return None
    if existing is not None and existing.id != old.id:
        db.session.delete(existing)
        db.session.flush()
    old.endpoint, old.p256dh, old.auth = endpoint, p256dh, auth
    old.service_host = urlsplit(endpoint).hostname or ""
    old.flagged_at = old.flag_reason = None
    db.session.flush()
    return old


def subscriptions_of(user_id: int) -> list[PushSubscription]:
    """A person's devices, oldest first."""
    return list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)
                                   .order_by(PushSubscription.id)))


# --- Preferences --------------------------------------------------------------------------------


def preferences_of(user: User) -> Preferences:
    """What ``user`` wants pushed (defaults if they never chose)."""
    row = db.session.get(PushPreferences, user.id)
    if row is None:
        return Preferences()
    return Preferences(row.reminders, row.lead_minutes, row.change_alerts, row.announcements)


def set_preferences(user: User, preferences: Preferences, *, now: datetime) -> None:
    """Save what ``user`` wants pushed. Pending reminders follow at the workers' next planning pass.

    :raise PushInputError: a lead time that is not one of 5, 10, 15 or 30 minutes.
    """
    if preferences.lead_minutes not in LEAD_MINUTES:
        raise PushInputError("lead_minutes", f"The reminder lead time must be one of {', '.join(map(str, LEAD_MINUTES))} minutes.")
    row = db.session.get(PushPreferences, user.id) or PushPreferences(user_id=user.id)
    row.reminders, row.lead_minutes = preferences.reminders, preferences.lead_minutes
    row.change_alerts, row.announcements = preferences.change_alerts, preferences.announcements
    row.updated_at = now
    db.session.add(row)
    db.session.flush()


# --- Messages -----------------------------------------------------------------------------------


def compose(title: str, body: str, url: str, *, tag: str | None = None) -> str:
    """The JSON payload the service worker shows: title, body, the URL a tap opens, and a tag.

    :raise PushInputError: over 3 KB (push services refuse large messages with 413).
    """
    payload = json.dumps({"title": title, "body": body, "url": url, "tag": tag}, ensure_ascii=False,
                         separators=(",", ":"))
    size = len(payload.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise PushInputError("body", f"The message is {size} bytes; push services take at most {MAX_PAYLOAD_BYTES}. "
                                     "Shorten the title or the text.")
    return payload


def queue(rows: list[dict[str, object]]) -> int:
    """Insert outbox rows, skipping those whose (subscription, dedupe key) exists. :return: how many were new."""
    if not rows:
        return 0
    # One order for everyone: two workers planning the same window lock the same unique keys in
    # the same order, so on PostgreSQL one waits for the other instead of deadlocking.
    rows = sorted(rows, key=lambda row: (row["subscription_id"], row["dedupe_key"]))
    module = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    added = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (module.insert(PushMessage).values(rows[start:start + INSERT_CHUNK])
                     .on_conflict_do_nothing(index_elements=["subscription_id", "dedupe_key"])
                     .returning(PushMessage.id))
        added += len(db.session.execute(statement).all())
    return added


def message_row(subscription_id: int, user_id: int, kind: str, dedupe_key: str, payload: str, *, now: datetime,
                due_at: datetime | None = None, expires_at: datetime | None = None, topic: str | None = None,
                urgency: str = "normal", session_id: int | None = None,
                session_start: datetime | None = None) -> dict[str, object]:
    """One outbox row's values (for :func:`queue`)."""
    due = due_at or now
    return {"kind": kind, "subscription_id": subscription_id, "user_id": user_id, "dedupe_key": dedupe_key[:200],
            "payload": payload, "topic": topic, "urgency": urgency, "session_id": session_id,
            "session_start": session_start, "due_at": due, "expires_at": expires_at or due + DEFAULT_TTL,
            "status": "pending", "attempts": 0, "created_at": now}


def notify(user_ids: list[int], *, title: str, body: str, url: str, dedupe_key: str, now: datetime,
           due_at: datetime | None = None, expires_at: datetime | None = None, urgency: str = "high") -> int:
    """Queue one notification to every device of these people (what other features call).

    Calling it again with the same ``dedupe_key`` queues nothing more, so a feature may call it
    from a retried request or a repeated pass. Flagged devices are skipped.

    :raise PushInputError: the payload is over 3 KB.
    :return: the number of messages queued.
    """
    payload = compose(title, body, url, tag=dedupe_key[:64])
    if not user_ids:
        return 0
    subscriptions = db.session.execute(
        select(PushSubscription.id, PushSubscription.user_id)
        .where(PushSubscription.user_id.in_(user_ids), PushSubscription.flagged_at.is_(None))).all()
    return queue([message_row(sid, uid, "notice", dedupe_key, payload, now=now, due_at=due_at,
                              expires_at=expires_at, urgency=urgency) for sid, uid in subscriptions])


def withdraw_pending(where: object, reason: str, *, now: datetime) -> int:
    """Mark pending messages matching ``where`` expired (they no longer apply). :return: how many."""
    result = db.session.execute(
        update(PushMessage).where(PushMessage.status == "pending", where)
        .values(status="expired", last_error=reason[:500], finished_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
