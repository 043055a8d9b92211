"""Test fixtures: the app and its schema once per session, a clean database for every test.

The suite runs on SQLite by default and on PostgreSQL when ``COMPANION_TEST_DATABASE_URL`` points
at a server: a fresh database is created on that server for the run and dropped after it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.engine import make_url

from companion import create_app
from companion.agenda import feed_owners
from companion.extensions import db as _db
from companion.extensions import limiter
from tests.mailserver import Mailbox, start_smtp_server
from tests.pushemulator import push_emulator  # noqa: F401 - the web-push-testing emulator, a session fixture
from tests.realparts import missing

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLE_SCHEDULES = SHARED / "data" / "schedules"
SCHEMAS = SHARED / "data" / "schemas"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


class FakeClock:
    """A clock the test sets; ``app.extensions["clock"]`` reads it."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        assert moment.tzinfo is not None, "the clock keeps aware datetimes"
        self.moment = moment


def _fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    server_url = os.environ.get("COMPANION_TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    url = make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"companion_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        missing("PostgreSQL", f"cannot reach {url.render_as_string(hide_password=True)}: {exc.orig}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The run's database (SQLite, or PostgreSQL with COMPANION_TEST_DATABASE_URL), shared by the app."""
    yield from _fresh_database(tmp_path_factory)


@pytest.fixture
def scratch_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of its own for a test that runs the app in another process or from scratch."""
    yield from _fresh_database(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app, built once, with the schema made by the migrations (not by ``create_all``)."""
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
            "SCHEDULE_CACHE_SECONDS": 0,
        }
    )
    app.extensions["clock"] = FakeClock()
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        feed_owners.of_app().close()
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    """The app's clock, reset for every test."""
    fake: FakeClock = app.extensions["clock"]
    fake.set(datetime(2026, 4, 7, 9, 0, tzinfo=UTC))
    return fake


def _empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the app starts and ends with empty tables.

    The app's own code commits (views, commands and workers commit once, for real), so each test
    is cleaned up by emptying the tables rather than by rolling back a wrapping transaction.
    """
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    yield
    with app.app_context():
        _db.session.remove()
        _empty_all_tables()
        limiter.reset()  # rate-limit counters live in memory for the whole session otherwise
        # Kept feed lookups: TRUNCATE fires no trigger to announce that the feeds are gone.
        feed_owners.of_app().clear()
    from companion.schedule import cache

    cache.clear()


@pytest.fixture
def db(app: Flask, clock: FakeClock) -> Iterator[sa.orm.scoped_session]:
    """The database session inside an app context."""
    with app.app_context():
        yield _db.session
        _db.session.remove()


TEST_USER_AGENT = "companion-tests"


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as on a real server.

    Flask reuses an app context that is already pushed (the ``db`` fixture pushes one), which
    would carry ``g`` (the signed-in user, the CSRF token) from one request into the next.
    After the request, the test's own session forgets what it had loaded, so the test reads what
    the request committed.
    """

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        from flask import has_app_context

        if has_app_context():
            _db.session.expire_all()
        return response


@pytest.fixture
def client(app: Flask, clock: FakeClock) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = TEST_USER_AGENT
    return client


@pytest.fixture
def runner(app: Flask, clock: FakeClock) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[tuple[str, int, Mailbox]]:
    controller, mailbox = start_smtp_server()
    yield controller.hostname, controller.port, mailbox
    controller.stop()


@pytest.fixture
def mailbox(app: Flask, _smtp_server: tuple[str, int, Mailbox]) -> Iterator[Mailbox]:
    """A real SMTP server the app sends to for this test; its received mails, emptied per test."""
    host, port, box = _smtp_server
    box.clear()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER=host, MAIL_PORT=port)
    yield box
    app.config.update(saved)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep screenshots and other artifacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
