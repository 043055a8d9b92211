"""Whose calendar feed a token opens: looked up once per web process and kept until it changes.

A calendar app polls its feed all day long, and checking the token cost each poll a database
round trip: more than the rest of a poll, whose document is cached (:data:`feeds.feed_cache`).
So each web process keeps the lookups it made, and migration 0009's triggers announce, in the
transaction that makes the change, every change to a person's feed or stars (the token replaced
or deleted, the reminder, a star added or removed) by the person's id:

- PostgreSQL sends it with ``NOTIFY companion_feeds``. Each process listens on a connection of its
  own, and reads what has arrived before every use of what it kept: one ``poll()`` of the socket,
  no round trip. A change reaches the other processes as soon as PostgreSQL delivers it, within
  milliseconds; the process that made it forgets at its commit (:func:`changed`).
- SQLite has no NOTIFY: the triggers log the id in ``feed_announcement``, and each process asks
  ``PRAGMA data_version`` (no table is read) whether any other connection committed since, and
  only then reads the new rows. A change is seen by the next poll anywhere.

If the announcements cannot be read (the listening connection failed), the process forgets
everything and looks every token up for :data:`RETRY_SECONDS` before it tries again. As a net for
a connection lost without an error, PostgreSQL's sends itself a notification every
:data:`HEARTBEAT_SECONDS`, which must come back, and an entry is kept at most :data:`KEEP_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from flask import current_app, has_app_context
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession

from companion.agenda import feeds
from companion.extensions import db

CHANNEL = "companion_feeds"
KEEP_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0
RETRY_SECONDS = 5.0  # after a failure, how long to look every token up before trying to listen again
EVERYONE = "*"  # what a lost or overrun announcement source means: forget everything

log = logging.getLogger(__name__)


class _Announcements(Protocol):
    def read(self) -> list[str]:
        """The user ids announced since the last read (:data:`EVERYONE` if some were lost); raise if the source failed."""

    def close(self) -> None: ...


def _own_connection(engine: Engine) -> Any:
    """A DBAPI connection made by ``engine`` (with its settings) that the pool never hands out."""
    fairy = engine.raw_connection()
    connection = fairy.driver_connection
    fairy.detach()
    return connection


class _Notifications:
    """PostgreSQL: ``LISTEN companion_feeds`` on a connection of this process's own.

    Its heartbeat is a notification to itself, which must come back: that proves the listening
    works end to end (a pooler in transaction mode, for one, would take LISTEN and deliver nothing).
    TCP keepalives bound how long a dead network can hold it, as for any database connection.
    """

    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._ping = f"ping:{os.getpid()}:{id(self)}"
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=5, keepalives=1,
                                           keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                                           tcp_user_timeout=9000)
        self._connection.execute(f"LISTEN {CHANNEL}")
        self._readable = select.poll()
        self._readable.register(self._connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        self._tested_at = -HEARTBEAT_SECONDS  # test at the first read

    def read(self) -> list[str]:
        # Notifications that arrived during the heartbeat wait in psycopg's backlog, the others in
        # the socket: read them only if there may be some.
        heartbeat = self._clock() - self._tested_at >= HEARTBEAT_SECONDS
        if heartbeat:
            self._connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, self._ping))
        elif not self._readable.poll(0):
            return []
        payloads = [notification.payload for notification in self._connection.notifies(timeout=0)]
        if heartbeat:
            if self._ping not in payloads:
                raise ConnectionError("the heartbeat notification did not come back: LISTEN does not work here")
            self._tested_at = self._clock()
        return [payload for payload in payloads if not payload.startswith("ping:")]

    def close(self) -> None:
        self._connection.close()


class _AnnouncementLog:
    """SQLite: the rows migration 0009's triggers add to ``feed_announcement``."""

    def __init__(self, engine: Engine) -> None:
        self._connection = _own_connection(engine)
        self._version = self._data_version()
        row = self._connection.execute("SELECT max(id) FROM feed_announcement").fetchone()
        self._connection.commit()  # end the read, so that later reads see later commits
        self._last_id = row[0] or 0

    def _data_version(self) -> int:
        return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def read(self) -> list[str]:
        version = self._data_version()
        if version == self._version:
            return []  # nobody else committed anything since the last read
        self._version = version
        rows = self._connection.execute("SELECT id, user_id FROM feed_announcement WHERE id > ? ORDER BY id",
                                        (self._last_id,)).fetchall()
        self._connection.commit()
        if not rows:
            return []
        overrun = rows[0][0] > self._last_id + 1  # rows this process never read were pruned
        self._last_id = rows[-1][0]
        return [EVERYONE] if overrun else [str(user_id) for _, user_id in rows]

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class _Kept:
    owner: feeds.FeedOwner
    at: float


class FeedOwners:
    """One web process's kept feed lookups and its source of announcements (one per app)."""

    def __init__(self, engine: Engine, *, lookup: Callable[[str], feeds.FeedOwner | None] = feeds.find_feed,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}  # token -> owner
        self._tokens_of: dict[int, set[str]] = {}  # user id -> tokens kept
        self._generation = 0  # counts what was forgotten
        self._forgotten: deque[tuple[int, str]] = deque(maxlen=1000)  # (generation, user id or EVERYONE) lately
        self._source: _Announcements | None = None
        self._source_pid: int | None = None
        self._retry_at = 0.0  # no new source before this (after a failure)
        self._failing = False  # warned, and not working since

    def find(self, token: str) -> feeds.FeedOwner | None:
        """The feed with ``token`` and a summary of its owner's stars (:func:`feeds.find_feed`),
        kept from an earlier lookup when no change to it was announced since.

        :return: None for an unknown or replaced token.
        """
        with self._lock:
            hearing = self._hear()
            kept = self._kept.get(token) if hearing else None
            if kept is not None and self._clock() - kept.at < KEEP_SECONDS:
                return kept.owner
            generation = self._generation
        owner = self._lookup(token)
        if owner is not None and hearing:
            with self._lock:
                # Keep it only if no change to it was announced while it was read: the lookup may
                # have seen the state just before that change.
                if self._hear() and not self._forgotten_since(generation, owner.user_id):
                    self._kept[token] = _Kept(owner, self._clock())
                    self._tokens_of.setdefault(owner.user_id, set()).add(token)
        return owner

    def forget_user(self, user_id: int) -> None:
        """Forget what is kept for ``user_id`` in this process (it committed a change to it)."""
        with self._lock:
            self._forget(str(user_id))

    def clear(self) -> None:
        """Forget everything kept (the tests, after emptying the tables, so that no test waits for
        the announcement of that)."""
        with self._lock:
            self._forget(EVERYONE)

    def close(self) -> None:
        """Stop reading announcements and forget everything."""
        with self._lock:
            self._drop_source()

    # --- under the lock -----------------------------------------------------------------------

    def _hear(self) -> bool:
        """Forget what the announcements since the last call name; False if they cannot be read
        (then nothing may be kept)."""
        if self._source is None or self._source_pid != os.getpid():
            self._drop_source()
            if self._clock() < self._retry_at or not self._open_source():
                return False
        try:
            for user in self._source.read():
                self._forget(user)
        except Exception:  # noqa: BLE001 - any failure of the source means: trust nothing kept
            self._failed("calendar feed announcements failed")
            self._drop_source()
            return False
        self._failing = False
        return True

    def _open_source(self) -> bool:
        try:
            if self._engine.dialect.name == "postgresql":
                self._source = _Notifications(self._engine, self._clock)
            else:
                self._source = _AnnouncementLog(self._engine)
        except Exception:  # noqa: BLE001 - none: look tokens up each time, and try again later
            self._failed("could not read calendar feed announcements")
            return False
        self._source_pid = os.getpid()
        return True

    def _failed(self, what: str) -> None:
        """Look every token up for :data:`RETRY_SECONDS`; warn once until the announcements work again."""
        self._retry_at = self._clock() + RETRY_SECONDS
        if not self._failing:
            log.warning("%s; feed tokens are looked up each time until they work again", what, exc_info=True)
        self._failing = True

    def _drop_source(self) -> None:
        source, pid = self._source, self._source_pid
        self._source, self._source_pid = None, None
        self._forget(EVERYONE)
        # A source inherited from the parent process is left alone: closing it here would end the
        # parent's connection, whose socket this process shares.
        if source is not None and pid == os.getpid():
            try:
                source.close()
            except Exception:  # noqa: BLE001, S110 - it is being thrown away
                pass

    def _forget(self, user: str) -> None:
        if user.isdigit():
            for token in self._tokens_of.pop(int(user), set()):
                self._kept.pop(token, None)
        else:  # EVERYONE, or an announcement this version does not know: forget everything, to be safe
            user = EVERYONE
            self._kept.clear()
            self._tokens_of.clear()
        self._generation += 1
        self._forgotten.append((self._generation, user))

    def _forgotten_since(self, generation: int, user_id: int) -> bool:
        """True if, after ``generation``, ``user_id`` or everyone was forgotten (or the record of
        it no longer reaches back that far)."""
        if self._generation == generation:
            return False
        if self._forgotten[0][0] > generation + 1:
            return True
        return any(user in (str(user_id), EVERYONE) for number, user in self._forgotten if number > generation)


def changed(user_id: int) -> None:
    """Note that ``user_id``'s feed or stars change in the current transaction: once it commits,
    this process forgets what it kept for them at once (the others hear the triggers)."""
    db.session.info.setdefault(_CHANGED, set()).add(user_id)


_CHANGED = "companion.feed_owners.changed"


@event.listens_for(OrmSession, "after_commit")
def _forget_committed_changes(session: OrmSession) -> None:
    users = session.info.pop(_CHANGED, None)
    owners = current_app.extensions.get("feed_owners") if users and has_app_context() else None
    if owners is not None:
        for user_id in users:
            owners.forget_user(user_id)


@event.listens_for(OrmSession, "after_rollback")
def _drop_rolled_back_changes(session: OrmSession) -> None:
    session.info.pop(_CHANGED, None)


_made = threading.Lock()


def of_app() -> FeedOwners:
    """The current app's :class:`FeedOwners`, made on first use (in the process that serves)."""
    owners = current_app.extensions.get("feed_owners")
    if owners is None:
        with _made:
            owners = current_app.extensions.setdefault("feed_owners", FeedOwners(db.engine))
    return owners
