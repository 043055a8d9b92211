"""My data: the download holds exactly the person's data; deleting the account keeps what others count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from companion.accounts import my_data, services
from companion.accounts.models import Attendee, AuditEvent, SignInToken, User
from tests.accounts.factories import CREATED, csrf_from, make_attendee, make_user, sign_in

MOMENT = datetime(2026, 4, 7, 7, 12, tzinfo=UTC)


@pytest.fixture
def ada(db):
    """An attendee who was checked in, asked for a sign-in link and changed a setting."""
    door = make_user(email="door@example.org", name="Door Staff", role="staff")
    attendee = make_attendee(email="ada@example.org", name="Ada Lovelace", company="Analytical Engines",
                             ticket_type="Speaker", registration_id="REG-ADA", consent_share_contact=True)
    attendee.language, attendee.checked_in_at, attendee.checked_in_by_id = "fr", MOMENT, door.id
    attendee.user.last_sign_in_at = MOMENT + timedelta(minutes=5)
    services.create_sign_in_link(attendee.user, now=MOMENT)
    services.record(attendee.user, "consent.set", "share_contact", now=MOMENT, value=True)
    services.record(door, "checkin", attendee.user.email, now=MOMENT)
    db.commit()
    return attendee


def _delete(client, typed: str):
    page = client.get("/me/data").get_data(as_text=True)
    return client.post("/me/delete", data={"csrf_token": csrf_from(page), "confirm_email": typed})


def test_download_holds_exactly_the_persons_data(client, db, ada):
    sign_in(client, ada.user)

    response = client.get("/me/data.json")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data-2026-04-07.json"'
    assert response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.get_data(as_text=True)) == {
        "about": "Everything Conference Companion holds about you at the time of this download.",
        "user": {"email": "ada@example.org", "name": "Ada Lovelace", "role": None, "booth_code": None,
                 "created_at": CREATED.isoformat(), "last_sign_in_at": "2026-04-07T07:17:00+00:00"},
        "attendee": {
            "company": "Analytical Engines", "ticket_type": "Speaker", "registration_id": "REG-ADA",
            "has_badge": True, "checked_in_at": "2026-04-07T07:12:00+00:00", "checked_in_by": "Door Staff",
            "consents": {"share_contact_with_booths": True}, "language": "fr",
            "created_at": CREATED.isoformat(), "updated_at": CREATED.isoformat(),
        },
        "sign_in_links": [{"created_at": "2026-04-07T07:12:00+00:00", "expires_at": "2026-04-07T07:27:00+00:00",
                           "used_at": None}],
        "audit_events": [{"at": "2026-04-07T07:12:00+00:00", "action": "consent.set", "subject": "share_contact",
                          "details": {"value": True}}],
        # Sections registered by later features (the agenda, push, the hunt, raffles, voting), empty for this person.
        "starred_sessions": [],
        "hunt_stamps": [],
        "raffle_entries": [],
        "poster_votes": [],
        "agenda_links": [],
        "notifications": {"devices": [], "messages": [],
                          "preferences": {"reminders": True, "lead_minutes": 10, "change_alerts": True,
                                          "announcements": True}},
    }


def test_a_registered_exporter_adds_its_section(client, db, ada, monkeypatch):
    monkeypatch.setattr(my_data, "_exporters", {})
    my_data.register_exporter("stamps", lambda user: [{"station": "acme", "person": user.email}])
    sign_in(client, ada.user)

    data = json.loads(client.get("/me/data.json").get_data(as_text=True))
    page = client.get("/me/data").get_data(as_text=True)

    assert data["stamps"] == [{"station": "acme", "person": "ada@example.org"}]
    assert "<li>Stamps: 1</li>" in page
    with pytest.raises(ValueError, match="built-in section"):
        my_data.register_exporter("user", lambda user: None)


def test_page_shows_the_data_in_the_conference_zone(client, db, ada):
    sign_in(client, ada.user)

    response = client.get("/me/data")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "<dt>Checked in</dt><dd>Tue 7 Apr 2026, 07:12 by Door Staff</dd>" in page  # UTC before any schedule
    assert "<dt>Company</dt><dd>Analytical Engines</dd>" in page
    assert 'href="/me/data.json" download>Download my data (JSON)</a>' in page


def test_deleting_the_account_keeps_counted_rows_without_the_person(client, db, ada, monkeypatch):
    calls = []
    monkeypatch.setattr(my_data, "_deleters", {})
    my_data.register_deleter("votes", lambda user, *, now: calls.append((user.email, now)))
    other = make_attendee(email="other@example.org")
    user_id = ada.user_id
    sign_in(client, ada.user)

    response = _delete(client, "  ADA@Example.org ")

    assert response.status_code == 200
    assert "Your account is deleted" in response.get_data(as_text=True)
    assert calls == [("ada@example.org", datetime(2026, 4, 7, 9, 0, tzinfo=UTC))]
    assert db.get(User, user_id) is None
    assert db.scalars(select(Attendee.user_id)).all() == [other.user_id]
    assert db.scalar(select(sa.func.count()).select_from(SignInToken)) == 0
    events = db.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.subject).order_by(AuditEvent.id)).all()
    door_id = db.scalar(select(User.id).where(User.email == "door@example.org"))
    assert [tuple(e) for e in events] == [
        ("consent.set", None, "share_contact"),
        ("checkin", door_id, my_data.DELETED_SUBJECT),
        ("account.delete", None, None),
    ]
    assert client.get("/me").status_code == 302
    assert client.get("/me/data.json").status_code == 302


def test_a_staff_members_check_ins_keep_their_time_and_lose_who(client, db, ada):
    door = db.scalar(select(User).where(User.email == "door@example.org"))
    sign_in(client, door)

    assert _delete(client, "door@example.org").status_code == 200

    stored = db.get(Attendee, ada.id)
    assert (stored.checked_in_at, stored.checked_in_by_id) == (MOMENT, None)


def test_deleting_needs_the_persons_own_address(client, db, ada):
    make_attendee(email="someone.else@example.org")
    sign_in(client, ada.user)

    wrong = _delete(client, "someone.else@example.org")
    empty = _delete(client, "")

    assert (wrong.status_code, empty.status_code) == (400, 400)
    assert "That is not the address of this account" in wrong.get_data(as_text=True)
    assert db.get(User, ada.user_id) is not None
    assert db.scalar(select(sa.func.count()).select_from(AuditEvent)) == 2


def test_the_last_admin_cannot_delete_their_account(client, db):
    admin = make_user(email="only.admin@example.org", role="admin")
    sign_in(client, admin)

    response = _delete(client, "only.admin@example.org")

    assert response.status_code == 409
    assert "You are the last admin" in response.get_data(as_text=True)
    assert db.get(User, admin.id) is not None


def test_an_admin_can_delete_their_account_when_another_admin_remains(client, db):
    admin = make_user(email="first.admin@example.org", role="admin")
    make_user(email="second.admin@example.org", role="admin")
    sign_in(client, admin)

    assert _delete(client, "first.admin@example.org").status_code == 200
    assert db.scalars(select(User.email).where(User.role == "admin")).all() == ["second.admin@example.org"]


def test_a_failing_deleter_leaves_everything_as_it_was(client, db, ada, monkeypatch):
    def broken(user, *, now):
        raise RuntimeError("the votes table is on fire")

    monkeypatch.setattr(my_data, "_deleters", {"votes": broken})
    sign_in(client, ada.user)

    response = _delete(client, "ada@example.org")

    assert response.status_code == 500
    assert db.get(User, ada.user_id) is not None
    assert db.scalar(select(sa.func.count()).select_from(SignInToken)) == 1
    assert client.get("/me").status_code == 200
