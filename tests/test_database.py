"""Engine set-up: pooled PostgreSQL connections are tested after sitting idle, not on every use."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from companion import database
from companion.extensions import db as _db


@pytest.fixture
def pings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ping the pool sends, as the backend process id it went to (0 on SQLite)."""
    with app.app_context():
        dialect = _db.engine.dialect
    sent: list[int] = []
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection) -> bool:  # noqa: ANN001
        sent.append(getattr(dbapi_connection, "info", None) and dbapi_connection.info.backend_pid or 0)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    return sent


@pytest.fixture(autouse=True)
def _one_connection_pool(app) -> None:
    """Start from an empty pool, so that each test's checkouts share the one connection they make
    (earlier tests leave several in the pool, handed out in turn)."""
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _backend(engine: sa.Engine) -> int | None:
    """The server process behind the connection the pool hands out next (None on SQLite)."""
    with engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            connection.execute(sa.text("SELECT 1"))
            return None
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _drop_on_the_server(engine: sa.Engine, pid: int) -> None:
    """End backend ``pid`` from a connection outside the pool, as a server restart would."""
    outside = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    try:
        with outside.connect() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
    finally:
        outside.dispose()


def test_a_connection_in_steady_use_is_not_pinged(app, pings, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with app.app_context():
        first = _backend(_db.engine)
        again = [_backend(_db.engine) for _ in range(5)]

    assert again == [first] * 5  # the same pooled connection each time
    assert pings == []


def test_an_idle_connection_is_pinged_and_replaced_if_the_server_dropped_it(app, pings, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checked-in connection counts as idle
    with app.app_context():
        engine = _db.engine
        first = _backend(engine)
        pings.clear()  # the first checkout may have pinged a connection left by another test
        if engine.dialect.name == "postgresql":
            assert _backend(engine) == first and pings == [first]  # pinged, alive, kept
            _drop_on_the_server(engine, first)  # while it sits idle in the pool
            replaced = _backend(engine)
            # The ping found the dead one; the pool gave a live connection instead of an error.
            assert replaced not in (None, first)
            assert pings == [first, first]  # the dead one was pinged; the new one is fresh
        else:
            # A SQLite file has no server to lose: its connections are never pinged.
            assert (first, _backend(engine), pings) == (None, None, [])


def test_a_dead_connection_in_steady_use_fails_one_request_and_the_pool_recovers(app, monkeypatch):
    """The trade-off of not pinging busy connections, stated as behaviour."""
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with app.app_context():
        engine = _db.engine
        first = _backend(engine)
        if engine.dialect.name != "postgresql":
            assert first is None
            return
        _drop_on_the_server(engine, first)
        with pytest.raises(sa.exc.OperationalError) as raised:
            _backend(engine)
        assert raised.value.connection_invalidated
        after = _backend(engine)
        assert after not in (None, first)
