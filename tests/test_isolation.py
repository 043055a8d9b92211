"""One attendee cannot read another's data through any route.

Attendee A is signed in; attendee B is the one whose data must not leak: B's email, name,
company, registration id and badge token appear in no answer A gets, whatever the route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.routing import IntegerConverter

from companion.accounts import services
from companion.accounts.models import Attendee, User
from companion.extensions import db as _db
from tests.accounts.factories import make_attendee, make_user, sign_in
from tests.test_route_inventory import collected_routes, url_for_route


@dataclass
class Pair:
    a: Attendee
    b: Attendee
    b_secrets: tuple[str, ...]


@pytest.fixture
def pair(db, client) -> Iterator[Pair]:
    """A (signed in on ``client``) and B, who is checked in, has used a sign-in link and shares contact."""
    a = make_attendee(email="alice.first@example.org", name="Alice Firstperson", company="Aardvark Analytics",
                      registration_id="REG-ALICE-1")
    b = make_attendee(email="bertha.second@example.org", name="Bertha Secondperson", company="Brightwater Biotech",
                      registration_id="REG-BERTHA-2", consent_share_contact=True)
    door = make_user(email="door@example.org", name="Door Staff", role="staff")
    moment = datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    b.checked_in_at, b.checked_in_by_id = moment, door.id
    services.create_sign_in_link(b.user, now=moment)
    services.record(b.user, "profile.update", b.user.email, now=moment, language="de")
    db.commit()
    sign_in(client, a.user)
    yield Pair(a, b, (b.user.email, b.user.name, b.company or "", b.registration_id or "", b.badge_token))


def _leaks(body: bytes, pair: Pair, asked_with: set[str] = frozenset()) -> list[str]:
    """B's data in ``body``, except what A put in the URL (a page may echo "no badge <token>")."""
    return [secret for secret in pair.b_secrets if secret not in asked_with and secret.encode() in body]


def test_data_download_holds_only_my_data(client, pair):
    response = client.get("/me/data.json")
    data = json.loads(response.get_data(as_text=True))

    assert response.status_code == 200
    assert (data["user"]["email"], data["attendee"]["registration_id"]) == ("alice.first@example.org", "REG-ALICE-1")
    assert data["audit_events"] == [] and data["sign_in_links"] == []
    assert _leaks(response.get_data(), pair) == []


def test_someone_elses_badge_link_shows_nothing_about_them(app, client, pair):
    if not any(route.rule.startswith("/b/") for route in collected_routes()):
        pytest.skip("/b/<token> is not there yet (the badges work adds it)")

    response = client.get(f"/b/{pair.b.badge_token}")

    assert response.status_code == 200
    assert _leaks(response.get_data(), pair) == []


def test_my_badge_shows_mine(client, pair):
    response = client.get("/me/badge")
    body = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Alice Firstperson" in body
    assert _leaks(response.get_data(), pair) == []


GET_ROUTES = [route for route in collected_routes() if "GET" in route.methods]


@pytest.mark.parametrize("route", [r for r in GET_ROUTES if "<" not in r.rule], ids=lambda r: r.rule)
def test_no_page_shows_someone_elses_data(app, client, pair, route):
    response = client.get(url_for_route(app, route))

    assert response.status_code < 500
    assert _leaks(response.get_data(), pair) == []


@pytest.mark.parametrize("route", [r for r in GET_ROUTES if "<" in r.rule], ids=lambda r: r.rule)
def test_no_page_shows_someone_elses_data_even_given_their_identifiers(app, client, pair, route):
    """Routes with arguments, filled with B's ids and tokens: still nothing of B's."""
    asked_with: set[str] = set()

    def b_value(name: str, converter: Any) -> Any:
        if isinstance(converter, IntegerConverter):
            return pair.b.id if "attendee" in name else pair.b.user_id
        if type(converter).__name__ == "UnicodeConverter":
            value = pair.b.registration_id if "registration" in name else pair.b.badge_token
            asked_with.add(value)
            return value
        return None

    response = client.get(url_for_route(app, route, b_value))

    assert response.status_code < 500
    assert asked_with < set(pair.b_secrets) or not asked_with
    assert _leaks(response.get_data(), pair, asked_with) == []


def test_b_is_really_there(db, pair):
    """The checks above prove something only if B's data is in the database to be leaked."""
    stored = _db.session.get(User, pair.b.user_id)
    assert (stored.email, stored.attendee.checked_in_by.name) == ("bertha.second@example.org", "Door Staff")
