"""Accounts: a person (``User``), optionally an attendee profile, and single-use sign-in tokens.

A person can be both an attendee and staff: the role sits on the person, the badge and the
check-in on the attendee profile. Public identifiers are random tokens, never ids or emails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.database import Base, UTCDateTime

ROLES = ("admin", "staff", "booth")
STAFF_ROLES = ("admin", "staff")


class User(UserMixin, Base):
    """A person who can sign in: an attendee, a staff member, or both."""

    __tablename__ = "user_account"  # "user" is a reserved word in PostgreSQL
    __table_args__ = (
        CheckConstraint("role IS NULL OR role IN ('admin', 'staff', 'booth')", name="role"),
        CheckConstraint("role = 'booth' OR booth_code IS NULL", name="booth_code_only_for_booth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised: see services.normalise_email
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(20))
    # The sponsor booth a booth account works for; the hunt issue gives it a station.
    booth_code: Mapped[str | None] = mapped_column(String(32))
    # Part of the login id: bumping it signs the person out of every device at once.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attendee: Mapped[Attendee | None] = relationship(
        back_populates="user", uselist=False, foreign_keys="Attendee.user_id", cascade="all, delete-orphan"
    )

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: stale once ``session_version`` grows."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        """Door, raffle desk, tally and announcements: staff and admins."""
        return self.role in STAFF_ROLES

    def has_role(self, *roles: str) -> bool:
        """True if the person holds one of ``roles``; admins hold every role."""
        return self.role == "admin" or self.role in roles


class Attendee(Base):
    """A registered attendee: ticket, badge, check-in, consents."""

    __tablename__ = "attendee"
    __table_args__ = (Index("ix_attendee_checked_in_at", "checked_in_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    registration_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    company: Mapped[str | None] = mapped_column(String(200))
    ticket_type: Mapped[str | None] = mapped_column(String(100))
    # What the badge QR carries: 128+ random bits, replaced when a badge is reissued.
    badge_token: Mapped[str] = mapped_column(String(64), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # May booth staff see my name and company when they scan my badge?
    consent_share_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="attendee", foreign_keys=[user_id], lazy="joined")
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])


class SignInToken(Base):
    """A single-use sign-in link, stored as a SHA-256 hash (the link itself is only in the mail)."""

    __tablename__ = "sign_in_token"
    __table_args__ = (Index("ix_sign_in_token_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """Who did what to what, and when: badge reissues, role changes, check-ins, imports."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
