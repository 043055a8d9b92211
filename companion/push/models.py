"""Web push tables: devices (subscriptions), what each person wants, announcements, and the outbox.

Every notification is a :class:`PushMessage` row before it is sent. The row's dedupe key is unique
per subscription, so planning the same reminder twice, by two workers or two passes, leaves one
row; workers claim rows with a lease, so a worker that dies mid-batch loses nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.database import Base, UTCDateTime

LEAD_MINUTES = (5, 10, 15, 30)
DEFAULT_LEAD_MINUTES = 10
MESSAGE_KINDS = ("reminder", "change", "announcement", "notice")
STATUSES = ("pending", "sending", "sent", "failed", "expired")
URGENCIES = ("very-low", "low", "normal", "high")
AUDIENCE_MAX = 40


def _one_of(column: str, values: tuple[object, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PushSubscription(Base):
    """One device's push subscription (a person may have several). The endpoint is unique."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # The push service's capability URL for this device; 404/410 from it deletes the row.
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    # For the health panel: subscriptions by push service (fcm.googleapis.com, web.push.apple.com, ...).
    service_host: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 403 from the push service (a VAPID problem): nothing more is planned for it until the device
    # subscribes again; staff see it on the health panel.
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(300))


class PushPreferences(Base):
    """What a person wants pushed. No row: the defaults (everything on, reminders 10 minutes before)."""

    __tablename__ = "push_preferences"
    __table_args__ = (CheckConstraint(_one_of("lead_minutes", LEAD_MINUTES), name="lead_minutes"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    lead_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_LEAD_MINUTES)
    change_alerts: Mapped[bool] = mapped_column(Boolean, default=True)
    announcements: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Announcement(Base):
    """A message staff wrote for an audience, sent now or at ``send_at`` (planned once, by one worker)."""

    __tablename__ = "announcement"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(1000))
    link: Mapped[str | None] = mapped_column(String(500))
    audience: Mapped[str] = mapped_column(String(AUDIENCE_MAX))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the worker that turned it into messages (a conditional update: exactly one does).
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int | None] = mapped_column(Integer)
    # The confirm form's one-time key: a second press of "Send" (or a replayed request) finds the
    # announcement already saved instead of sending it twice (a unique constraint decides).
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class PushMessage(Base):
    """One notification for one subscription: the outbox row a worker claims, sends and records."""

    __tablename__ = "push_message"
    __table_args__ = (
        UniqueConstraint("subscription_id", "dedupe_key"),
        CheckConstraint(_one_of("kind", MESSAGE_KINDS), name="kind"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint(_one_of("urgency", URGENCIES), name="urgency"),
        # The claim query: due pending rows, and sending rows whose lease ran out.
        Index("ix_push_message_status_due_at", "status", "due_at"),
        Index("ix_push_message_finished_at", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # NULL once the subscription is deleted (404/410 from the push service): the row stays as a record.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("push_subscription.id", ondelete="SET NULL"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)  # JSON: title, body, url, tag
    topic: Mapped[str | None] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    # A reminder is for one session at one start time: planning withdraws it when either changes.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"), index=True)
    session_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # After this the message is worthless (a reminder once the session started): TTL counts down to it.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlannerMark(Base):
    """How far a planner has read an append-only table (schedule changes): ``name`` -> moment."""

    __tablename__ = "push_planner_mark"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[datetime] = mapped_column(UTCDateTime)
