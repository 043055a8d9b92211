"""Factories for people, and signing a test client in as one of them."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from itertools import count

from flask.testing import FlaskClient

from companion.accounts.models import Attendee, User
from companion.accounts.tokens import new_badge_token
from companion.extensions import db

CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_numbers = count(1)


def make_user(email: str | None = None, name: str | None = None, role: str | None = None,
              booth_code: str | None = None, password: str | None = None) -> User:
    """A person (committed); with ``password`` set, they can use the staff sign-in."""
    from companion.accounts.services import set_password

    n = next(_numbers)
    user = User(email=email or f"person{n}@example.org", name=name or f"Person {n}", role=role,
                booth_code=booth_code, session_version=1, created_at=CREATED)
    db.session.add(user)
    db.session.flush()
    if password:
        set_password(user, password)
    db.session.commit()
    return user


def make_attendee(email: str | None = None, name: str | None = None, company: str | None = "Example Corp",
                  ticket_type: str | None = "Conference", registration_id: str | None = None,
                  role: str | None = None, consent_share_contact: bool = False) -> Attendee:
    """An attendee with a badge (committed)."""
    user = make_user(email=email, name=name, role=role)
    attendee = Attendee(user_id=user.id, registration_id=registration_id or f"REG-{user.id:05d}", company=company,
                        ticket_type=ticket_type, badge_token=new_badge_token(), consent_share_contact=consent_share_contact,
                        created_at=CREATED, updated_at=CREATED)
    db.session.add(attendee)
    db.session.commit()
    return attendee


def sign_in(client: FlaskClient, user: User) -> None:
    """Make ``client`` signed in as ``user`` (as Flask-Login would after a successful sign-in)."""
    from tests.conftest import TEST_USER_AGENT

    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_id"] = hashlib.sha512(TEST_USER_AGENT.encode()).hexdigest()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form (or the csrf-token meta tag) in ``html``."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
