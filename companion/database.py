"""The declarative base, column types shared by every feature, and per-dialect engine set-up.

This is the one place where SQLite and PostgreSQL are told apart.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic revisions name the same constraint the same way on
# SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no zone support, so the value is stored as
    naive UTC and given its zone back on the way out. Naive values are refused: they are the bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored: give it a zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def configure_engine(engine: Engine) -> None:
    """Apply the per-dialect connection settings the app relies on.

    SQLite: write-ahead logging (readers never wait for the writer), foreign keys enforced, and a
    busy timeout so concurrent writers queue instead of failing with "database is locked".

    PostgreSQL: a pooled connection that has sat unused for :data:`PING_AFTER_IDLE_SECONDS` is
    tested before use (see :func:`_ping_idle_connection`).
    """
    if engine.dialect.name != "sqlite":
        dialect = engine.dialect

        @event.listens_for(engine, "checkout")
        def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
            _ping_idle_connection(dialect, dbapi_connection, record)

        event.listen(engine, "checkin", _note_checkin)
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def lock_for_writing(session: Session, name: str) -> None:
    """Wait until no other transaction holds the write lock ``name``; hold it until commit/rollback.

    Used where a whole operation must not interleave with a copy of itself (two schedule imports
    started at once). PostgreSQL: a transaction-scoped advisory lock. SQLite has one writer at a
    time anyway: a write statement that changes nothing takes its write lock now, before the
    operation reads, so the operation reads what the previous writer committed.
    """
    if is_postgresql(session.get_bind()):
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        session.execute(text("UPDATE conference SET id = id WHERE 1 = 0"))


def insert_ignoring_duplicates(model: type[Base], values: dict[str, Any], *, conflict_columns: tuple[str, ...]) -> bool:
    """Insert one row unless one with the same ``conflict_columns`` exists; never an error.

    ``INSERT ... ON CONFLICT DO NOTHING`` on both databases: the atomic form of "add it once",
    safe under any number of concurrent requests.

    :return: True if the row was inserted.
    """
    from companion.extensions import db

    statement = insert_or_nothing(db.session.get_bind(), model, values, conflict_columns=conflict_columns)
    return db.session.execute(statement).first() is not None


def insert_or_nothing(bind: Engine | Connection, model: type[Base], values: dict[str, Any], *,
                      conflict_columns: tuple[str, ...]) -> Any:
    """The ``INSERT ... ON CONFLICT DO NOTHING RETURNING <primary key>`` statement for ``bind``'s
    database: executing it returns a row only if it inserted one."""
    module = postgresql if bind.dialect.name == "postgresql" else sqlite
    return (
        module.insert(model).values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*model.__table__.primary_key.columns)
    )


def is_postgresql(engine: Engine | Connection) -> bool:
    """True when ``engine`` talks to PostgreSQL (row locks, SKIP LOCKED and the like are available)."""
    return engine.dialect.name == "postgresql"


# A connection can die under the pool while nobody uses it (a server restart, an idle timeout in a
# proxy or firewall), so one that has sat idle is tested with a round trip before use. One in
# steady use is not: SQLAlchemy's pool_pre_ping would test every checkout, one more round trip
# per request (measured on a vote in bench/vote_burst.py). If such a connection has died all the same (the server
# restarted mid-burst), that request fails and SQLAlchemy discards the pool's other connections
# with it, so the next ones reconnect.
PING_AFTER_IDLE_SECONDS = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_idle_connection(dialect: Any, dbapi_connection: Any, record: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return  # new, or in steady use
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        # The pool discards this connection and checks out a fresh one (PoolEvents.checkout).
        raise exc.DisconnectionError(f"connection idle since {idle_since:.0f} failed its ping: {error}") from error
