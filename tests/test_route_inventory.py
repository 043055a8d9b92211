"""Every route, found by walking ``app.url_map``: who may use it, and CSRF on every state change.

Routes are collected from a throwaway app when the tests are collected, so a route added by any
feature is tested without anyone writing a test for it:

- a route whose view carries ``required_roles`` (the mark of :mod:`companion.accounts.access`)
  refuses anonymous visitors (a redirect to the sign-in page, or 401 problem+json under /api/)
  and every signed-in person without one of its roles (403);
- a route without the mark must be in :data:`PUBLIC`, with the methods it answers: a new route
  has to choose, or :func:`test_every_route_is_marked_or_public` fails and names it;
- every route that takes POST, PUT, PATCH or DELETE refuses a request without a CSRF token with a
  400, even from an admin, and changes nothing.
"""

from __future__ import annotations

import re
import secrets
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, PathConverter, Rule, UUIDConverter

from companion.extensions import db as _db
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Routes anyone may use, signed in or not, by rule (converters written as <>) and method.
# A new route goes here only if it shows nothing personal and changes nothing worth protecting.
PUBLIC: dict[str, set[str]] = {
    # static files and the PWA shell
    "/static/<>": {"GET"},
    "/sw.js": {"GET"},
    "/manifest.webmanifest": {"GET"},
    "/offline": {"GET"},
    "/queue": {"GET"},  # the offline queue's list: filled in by the phone, the same page for everyone
    # schedule pages
    "/": {"GET"},
    "/schedule": {"GET"},
    "/sessions/<>": {"GET"},
    "/speakers/<>": {"GET"},
    "/rooms/<>": {"GET"},
    "/schedule/tracks.css": {"GET"},
    # exports
    "/schedule/export/schedule.<>": {"GET"},
    # calendars: one session's "add to calendar" file; a person's feed (its unguessable token is the key)
    "/sessions/<>.ics": {"GET"},
    "/ical/<>.ics": {"GET"},
    # API reads and its description
    "/api/v1/health": {"GET"},
    "/api/v1/openapi.json": {"GET"},
    "/api/v1/docs/openapi.json": {"GET"},
    "/api/v1/schedule": {"GET"},
    "/api/v1/sessions": {"GET"},
    "/api/v1/sessions/<>": {"GET"},
    "/api/v1/speakers/<>": {"GET"},
    # signing in and out (CSRF-protected; signing out needs no account)
    "/sign-in": {"GET", "POST"},
    "/sign-in/<>": {"GET", "POST"},
    "/staff/sign-in": {"GET", "POST"},
    "/sign-out": {"POST"},
    # what a badge QR opens: its page decides by who is looking (only "a badge of this conference" for strangers)
    "/b/<>": {"GET"},
    # a shared agenda: read-only, opt-in by its owner, first name and sessions only; 404 once turned off
    "/agenda/shared/<>": {"GET"},
    "/agenda/shared/<>/qr.svg": {"GET"},
    # web push: the server's public key; a service worker renewing its device's subscription
    # (no session: knowing the old endpoint, a secret of that device, is the proof)
    "/api/v1/push/key": {"GET"},
    "/api/v1/push/subscriptions/renew": {"POST"},
    # raffles: prizes, entry codes (pseudonyms, never names), hashes, seeds and winners' codes are
    # published so that anyone can check a draw
    "/raffles": {"GET"},
    "/raffles/<>": {"GET"},
    "/api/v1/raffles/<>/proof": {"GET"},
    # poster voting: the posters (titles, authors and boards are on the boards for all to read)
    "/api/v1/posters": {"GET"},
    "/posters": {"GET"},
    "/posters/<>": {"GET"},
}

# State-changing routes that cannot carry a CSRF token, and why they need none.
CSRF_EXEMPT = {
    # called by the service worker, which has no page and no token; it changes only the row whose
    # old endpoint it names, which a forged cross-site request cannot know
    "/api/v1/push/subscriptions/renew",
}

# Routes the inventory must find, with their roles: proof that it is not walking an empty map.
KNOWN_MARKED = {
    "/staff/": ("staff", "booth"),
    "/staff/schedule/import": ("staff",),
    "/staff/schedule/import/apply": ("staff",),
    "/me": ("signed-in",),
    "/me/data": ("signed-in",),
    "/me/data.json": ("signed-in",),
    "/me/delete": ("signed-in",),
    "/me/badge": ("attendee",),
}


@dataclass(frozen=True)
class Route:
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    roles: tuple[str, ...] | None

    @property
    def is_api(self) -> bool:
        return self.rule.startswith("/api/")

    @property
    def probe_method(self) -> str:
        """The method to knock with: GET if the route has it, else its first state-changing one."""
        return "GET" if "GET" in self.methods else next(m for m in UNSAFE_METHODS if m in self.methods)

    def __str__(self) -> str:
        return f"{'|'.join(self.methods)} {self.rule}"


def normalised(rule: str) -> str:
    """``/sessions/<code>`` -> ``/sessions/<>``: what :data:`PUBLIC` is keyed by."""
    return re.sub(r"<[^>]*>", "<>", rule)


def required_roles(view: Callable[..., Any]) -> tuple[str, ...] | None:
    """The roles a view's access decorator left on it, looking through every wrapper."""
    seen: Any = view
    while seen is not None:
        roles = getattr(seen, "required_roles", None)
        if roles:
            return tuple(roles)
        seen = getattr(seen, "__wrapped__", None)
    return None


def routes_of(app: Flask) -> list[Route]:
    """Every rule of ``app`` (HEAD and OPTIONS left out), with the roles its view requires."""
    found = []
    for rule in app.url_map.iter_rules():
        methods = tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        if methods:
            found.append(Route(rule.rule, rule.endpoint, methods, required_roles(app.view_functions[rule.endpoint])))
    return sorted(found, key=lambda r: (r.rule, r.methods))


@lru_cache(maxsize=1)
def collected_routes() -> tuple[Route, ...]:
    """The routes of an app built for collection only (no database is touched, nothing written)."""
    from companion import create_app

    app = create_app({
        "ENV": "testing",
        "SECRET_KEY": "route-collection",
        "DATABASE_URL": "sqlite://",
        "INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "companion-route-collection"),
    })
    return tuple(routes_of(app))


def marked_routes() -> list[Route]:
    return [route for route in collected_routes() if route.roles]


def unsafe_routes() -> list[Route]:
    return [route for route in collected_routes() if any(m in UNSAFE_METHODS for m in route.methods)]


def url_for_route(app: Flask, route: Route, values: Callable[[str, Any], Any] | None = None) -> str:
    """A URL of ``route`` with every argument filled in plausibly (or by ``values(name, converter)``)."""
    rule: Rule = next(r for r in app.url_map.iter_rules() if r.rule == route.rule and r.endpoint == route.endpoint)
    arguments = {}
    for name, converter in rule._converters.items():  # noqa: SLF001 - the converter says what fits
        value = values(name, converter) if values else None
        arguments[name] = value if value is not None else plausible_value(name, converter)
    built = rule.build(arguments, append_unknown=False)
    assert built is not None, f"cannot build {route.rule} from {arguments}"
    return built[1]


def plausible_value(name: str, converter: Any) -> Any:
    """A value the converter accepts: an id that exists (1), one of the choices, a random token."""
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, FloatConverter):
        return 1.0
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if isinstance(converter, UUIDConverter):
        return uuid.uuid4()
    if isinstance(converter, PathConverter):
        return "app.css"
    return secrets.token_urlsafe(24)  # codes, slugs and tokens: the shape of a badge or link token


def csrf_token_for(client: FlaskClient) -> str:
    """A valid CSRF token of ``client``'s session (from a page every visitor can open)."""
    return csrf_from(client.get("/sign-in").get_data(as_text=True))


def knock(client: FlaskClient, route: Route, url: str, method: str, csrf: str | None) -> Any:
    """Send ``method`` to ``url`` as a form (or JSON under /api/), with the CSRF token if given."""
    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    if method != "GET":
        if route.is_api:
            kwargs["json"] = {}
            if csrf:
                headers["X-CSRFToken"] = csrf
        else:
            kwargs["data"] = {"csrf_token": csrf} if csrf else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def database_fingerprint() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: equal before and after means nothing changed."""
    snapshot = {}
    for table in _db.metadata.sorted_tables:
        rows = _db.session.execute(sa.select(table)).all()
        snapshot[table.name] = sorted((tuple(row) for row in rows), key=repr)
    _db.session.rollback()
    return snapshot


# --- the inventory itself -------------------------------------------------------------------


def test_inventory_is_not_empty_and_finds_the_known_routes():
    found = {route.rule: route.roles for route in marked_routes()}

    assert len(collected_routes()) >= 25
    assert {rule: found.get(rule) for rule in KNOWN_MARKED} == KNOWN_MARKED


def unmarked(routes: list[Route] | tuple[Route, ...]) -> list[str]:
    """Routes with neither an access mark nor a place (with that method) in :data:`PUBLIC`."""
    return [
        f"{route} ({route.endpoint}): no access decorator and not in PUBLIC"
        for route in routes
        if not route.roles and not set(route.methods) <= PUBLIC.get(normalised(route.rule), set())
    ]


def test_every_route_is_marked_or_public():
    assert unmarked(collected_routes()) == [], "Choose for each: an access decorator (companion.accounts.access) or PUBLIC"


def test_the_inventory_sees_through_wrappers_and_catches_unmarked_routes():
    """The checks above on a tiny app: a mark under another decorator is found, a bare route is not."""
    from functools import wraps

    from companion.accounts.access import role_required

    def limited(view):  # stands for any outer decorator (rate limits, caching)
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.__dict__.pop("required_roles", None)  # worst case: the outer wrapper does not copy the mark
        return wrapper

    tiny = Flask("tiny")
    tiny.add_url_rule("/staff/secret", "secret", limited(role_required("admin")(lambda: "ok")))
    tiny.add_url_rule("/forgotten", "forgotten", lambda: "ok", methods=["GET", "POST"])
    tiny.add_url_rule("/sign-in", "sign_in", lambda: "ok", methods=["GET", "POST", "DELETE"])
    routes = [route for route in routes_of(tiny) if route.endpoint != "static"]

    assert [(route.rule, route.roles) for route in routes] == [
        ("/forgotten", None), ("/sign-in", None), ("/staff/secret", ("admin",)),
    ]
    assert unmarked(routes) == [
        "GET|POST /forgotten (forgotten): no access decorator and not in PUBLIC",
        "DELETE|GET|POST /sign-in (sign_in): no access decorator and not in PUBLIC",
    ]


def test_public_list_names_only_routes_that_exist():
    rules = {normalised(route.rule) for route in collected_routes()}
    # /b/<token> comes with the badges work; every other public entry must match a real route.
    assert sorted(set(PUBLIC) - rules - {"/b/<>"}) == []


# --- access ---------------------------------------------------------------------------------


@pytest.fixture
def people(db) -> Iterator[dict[str, Any]]:
    """One person per role the checks need, and an attendee whose id the URLs can use."""
    yield {
        "attendee": make_attendee(email="plain.attendee@example.org").user,
        "booth": make_user(email="booth@example.org", role="booth", booth_code="acme"),
        "staff": make_user(email="staff@example.org", role="staff"),
        "admin": make_attendee(email="admin@example.org", role="admin").user,
    }


def _client_for(app: Flask, user: Any | None) -> FlaskClient:
    from tests.conftest import TEST_USER_AGENT

    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    if user is not None:
        sign_in(client, user)
    return client


def _refusals_expected(roles: tuple[str, ...]) -> dict[str, int]:
    """Who must get a 403: everyone signed in who holds none of ``roles`` (admins hold all).

    ``("signed-in",)`` routes are for anyone signed in and ``("attendee",)`` routes for anyone with
    an attendee registration, so the plain attendee is refused only by the role-bound ones.
    """
    if roles == ("signed-in",):
        return {}
    if roles == ("attendee",):  # booth and staff accounts here have no attendee registration
        return {"booth": 403, "staff": 403}
    personas = {"attendee": None, "booth": "booth", "staff": "staff"}
    return {persona: 403 for persona, role in personas.items() if role not in roles}


@pytest.mark.parametrize("route", marked_routes(), ids=str)
def test_marked_route_refuses_anonymous_visitors(app, people, route):
    client = _client_for(app, None)
    method = route.probe_method
    csrf = csrf_token_for(client) if method != "GET" else None

    response = knock(client, route, url_for_route(app, route), method, csrf)

    if route.is_api:
        assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    else:
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/sign-in"


@pytest.mark.parametrize("route", marked_routes(), ids=str)
def test_marked_route_refuses_people_without_its_role(app, people, route):
    expected = _refusals_expected(route.roles or ())
    method = route.probe_method
    statuses = {}
    before = database_fingerprint()

    for persona in expected:
        client = _client_for(app, people[persona])
        csrf = csrf_token_for(client) if method != "GET" else None
        statuses[persona] = knock(client, route, url_for_route(app, route), method, csrf).status_code

    assert statuses == expected
    assert database_fingerprint() == before


@pytest.mark.parametrize("route", [r for r in unsafe_routes() if r.rule not in CSRF_EXEMPT], ids=str)
def test_state_changing_route_refuses_requests_without_csrf_token(app, people, route):
    client = _client_for(app, people["admin"])
    client.get("/sign-in")  # the session has a CSRF secret: only the token in the request is missing
    before = database_fingerprint()

    for method in (m for m in route.methods if m in UNSAFE_METHODS):
        response = knock(client, route, url_for_route(app, route), method, csrf=None)
        assert response.status_code == 400, f"{method} {route.rule}"
        assert "CSRF token is missing" in response.get_data(as_text=True)

    assert database_fingerprint() == before
