"""What opening a badge URL shows, by who opens it, and reissuing a lost badge."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from companion.accounts.models import Attendee, AuditEvent
from companion.extensions import db as _db
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in

GENERIC = "<h1>A badge of Test Conf 2026</h1>"
NOT_VALID = "This badge is not valid: it may have been replaced. Look the person up by name."
UNKNOWN = "Zm9yZ2VkLWJhZGdlLXRva2Vu"  # looks like a token, belongs to nobody


def _without_csrf(html: str) -> str:
    """The page minus its per-request CSRF token, so two pages can be compared."""
    return re.sub(r'<meta name="csrf-token" content="[^"]+">', "", html)


def _assert_nothing_about_ada(html: str) -> None:
    for secret in ("Ada", "Lovelace", "ada.lovelace", "Analytical Engines", "Speaker"):
        assert secret not in html


def test_anonymous_sees_only_the_conference_and_the_same_page_for_unknown_badges(client, ada):
    valid = client.get(f"/b/{ada.badge_token}")
    unknown = client.get(f"/b/{UNKNOWN}")

    assert (valid.status_code, unknown.status_code) == (200, 200)
    assert GENERIC in valid.text
    assert '<a class="button" href="/schedule">Open the Test Conf 2026 app</a>' in valid.text
    _assert_nothing_about_ada(valid.text)
    assert valid.text == unknown.text
    assert valid.headers["Cache-Control"] == unknown.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("who", ["owner", "another attendee"])
def test_attendees_including_the_owner_see_only_the_generic_page(client, ada, who):
    viewer = ada.user if who == "owner" else make_attendee(email="grace@example.org", name="Grace Hopper").user
    sign_in(client, viewer)

    valid = client.get(f"/b/{ada.badge_token}")
    unknown = client.get(f"/b/{UNKNOWN}")

    assert (valid.status_code, unknown.status_code) == (200, 200)
    assert GENERIC in valid.text
    _assert_nothing_about_ada(valid.text)
    assert _without_csrf(valid.text) == _without_csrf(unknown.text)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_door_staff_see_the_attendee_and_the_check_in_button(client, ada, role):
    sign_in(client, make_user(email=f"{role}@example.org", name="Sam Door", role=role))

    response = client.get(f"/b/{ada.badge_token}")

    html = response.text
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "<h1>Ada Lovelace</h1>" in html
    assert "<dt>Company</dt><dd>Analytical Engines</dd>" in html
    assert "<dt>Ticket</dt><dd>Speaker</dd>" in html
    assert "<dd data-check-in-state>Not checked in yet</dd>" in html
    assert f'<form method="post" action="/b/{ada.badge_token}/check-in">' in html
    assert '<button type="submit" class="button-big">Check in</button>' in html


def test_staff_opening_an_unknown_badge_are_told_it_is_not_valid(client, ada, door):
    sign_in(client, door)

    response = client.get(f"/b/{UNKNOWN}")

    assert response.status_code == 404
    assert NOT_VALID in response.text
    assert '<form method="get" action="/staff/check-in"' in response.text


@pytest.mark.parametrize(("consent", "shown", "hidden"), [
    (False, "<strong>An attendee (no contact sharing)</strong>", "Ada Lovelace"),
    (True, "<strong>Ada Lovelace</strong>, Analytical Engines", "no contact sharing"),
])
def test_booth_staff_see_the_name_only_with_consent(client, ada, consent, shown, hidden):
    ada.consent_share_contact = consent
    _db.session.commit()
    sign_in(client, make_user(email="booth@example.org", role="booth", booth_code="ACME"))

    response = client.get(f"/b/{ada.badge_token}")

    assert response.status_code == 200
    assert '<h2 id="booth-heading">Booth action</h2>' in response.text
    assert shown in response.text
    assert hidden not in response.text
    assert "ada.lovelace@example.org" not in response.text
    assert "Check in" not in response.text


def test_booth_staff_get_the_generic_page_for_unknown_badges(client, ada):
    sign_in(client, make_user(email="booth@example.org", role="booth", booth_code="ACME"))

    assert GENERIC in client.get(f"/b/{UNKNOWN}").text


@pytest.mark.parametrize("signed_in_as", [None, "staff"])
def test_overlong_or_odd_tokens_are_not_looked_up(client, ada, door, signed_in_as):
    if signed_in_as:
        sign_in(client, door)
    seen: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append(f"{statement} {parameters}")

    candidates = ["A" * 65, "not*a*token*at*all*!", ada.badge_token + "A" * 43]
    event.listen(_db.engine, "before_cursor_execute", watch)
    try:
        responses = [client.get(f"/b/{token}") for token in candidates]
        looked_up = len([s for s in seen if "attendee.badge_token =" in s])
        client.get(f"/b/{UNKNOWN}")  # the control: a plausible token is looked up (by staff)
    finally:
        event.remove(_db.engine, "before_cursor_execute", watch)

    expected = (404, NOT_VALID) if signed_in_as else (200, GENERIC)
    for response in responses:
        assert (response.status_code, expected[1] in response.text) == (expected[0], True)
    assert looked_up == 0
    assert [s for s in seen if any(t in s for t in candidates)] == []
    assert len([s for s in seen if "attendee.badge_token =" in s]) == (1 if signed_in_as else 0)


def test_badge_urls_are_rate_limited_per_client(client, ada):
    statuses = [client.get(f"/b/{UNKNOWN}").status_code for _ in range(121)]

    assert statuses == [200] * 120 + [429]


def test_reissue_replaces_the_badge_at_once_and_is_audited(client, ada, door, clock):
    old = ada.badge_token
    sign_in(client, door)
    page = client.get(f"/staff/attendees/{ada.id}")

    response = client.post(f"/staff/attendees/{ada.id}/reissue-badge", data={"csrf_token": csrf_from(page.text)})

    new = _db.session.scalar(select(Attendee.badge_token).where(Attendee.id == ada.id))
    assert (response.status_code, response.headers["Location"]) == (303, f"/staff/attendees/{ada.id}?reissued=1")
    assert new != old and len(new) == 22
    events = _db.session.execute(select(AuditEvent.action, AuditEvent.subject, AuditEvent.actor_id, AuditEvent.at,
                                        AuditEvent.details)).all()
    assert events == [("badge.reissue", "ada.lovelace@example.org", door.id, clock.moment, {"attendee_id": ada.id})]

    assert NOT_VALID in client.get(f"/b/{old}").text
    assert "<h1>Ada Lovelace</h1>" in client.get(f"/b/{new}").text
    detail = client.get(f"/staff/attendees/{ada.id}?reissued=1").text
    assert "<strong>New badge issued.</strong> The old badge no longer works." in detail
    assert "<dt>Badge</dt><dd>Valid; reissued at 11:00, Tue 7 Apr, by Sam Door</dd>" in detail

    anonymous = client.application.test_client()
    assert GENERIC in anonymous.get(f"/b/{old}").text


def test_reissue_needs_the_csrf_token_and_staff(client, ada, door):
    old = ada.badge_token
    sign_in(client, door)
    without_token = client.post(f"/staff/attendees/{ada.id}/reissue-badge")
    sign_in(client, ada.user)
    page = client.get("/me/badge").text
    as_attendee = client.post(f"/staff/attendees/{ada.id}/reissue-badge", data={"csrf_token": csrf_from(page)},
                              headers={"Accept": "text/html"})

    assert without_token.status_code == 400
    assert as_attendee.status_code == 403
    assert _db.session.scalar(select(Attendee.badge_token).where(Attendee.id == ada.id)) == old
    assert _db.session.scalars(select(AuditEvent)).all() == []


def test_attendee_detail_for_staff(client, ada, door):
    sign_in(client, door)

    response = client.get(f"/staff/attendees/{ada.id}")
    missing = client.get("/staff/attendees/999999")

    html = response.text
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "<h1>Ada Lovelace</h1>" in html
    assert "<dt>Email</dt><dd>ada.lovelace@example.org</dd>" in html
    assert f"<dt>Registration</dt><dd>REG-{ada.user_id:05d}</dd>" in html
    assert "<dt>Badge</dt><dd>Valid</dd>" in html
    assert "<dd data-check-in-state>Not checked in yet</dd>" in html
    assert '<button type="submit" class="button-secondary">Reissue badge</button>' in html
    assert missing.status_code == 404


@pytest.mark.parametrize("path", ["/staff/check-in", "/staff/check-in/chart.svg", "/staff/attendees/{id}"])
def test_staff_pages_refuse_anonymous_and_attendees(client, ada, path):
    path = path.format(id=ada.id)
    anonymous = client.get(path)
    sign_in(client, ada.user)
    attendee = client.get(path, headers={"Accept": "text/html"})

    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/sign-in?next=")
    assert attendee.status_code == 403
