"""Honour ``Idempotency-Key`` on every state-changing API call (POST, PUT, PATCH, DELETE /api/...)
of a signed-in person.

Before the view: take the key (or replay its answer, refuse a reused key with 422, or wait for
the first request with it to answer). When the view commits, the same transaction marks the key
committed (so its action can never run twice, whatever happens after). After the view: store the
answer, or let the key go if the call committed nothing and its answer means it did not run (see
:data:`NOT_KEPT`). A request without the header, to no route, or by nobody signed in, is untouched:
keys belong to accounts (the one anonymous state change, a push subscription's renewal, is
idempotent by itself).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.orm import Session

from companion import timeutil
from companion.errors import Problem
from companion.extensions import db
from companion.idempotency import store

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Visible ASCII, as the draft asks of a key's value; a UUID is what our client sends.
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Answers that mean "this call did not run", so the same key must be able to run it later:
# not signed in, forbidden, timed out, in conflict, too many requests, and every server error.
NOT_KEPT = frozenset({401, 403, 408, 409, 429})
REPEATED_HEADERS = ("Location", "ETag", "Content-Location")
POLL_SECONDS = (0.025, 0.05, 0.1, 0.2)  # then every 0.2 s

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the hooks (after CSRF protection, so a forged request never takes a key)."""
    # IDEMPOTENCY_TTL_HOURS is a setting (companion.config); these two are for tests to shorten.
    app.config.setdefault("IDEMPOTENCY_WAIT_SECONDS", 10)
    app.config.setdefault("IDEMPOTENCY_STALE_SECONDS", 60)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(_teardown)
    if not event.contains(db.session, "before_commit", _mark_committed):
        event.listen(db.session, "before_commit", _mark_committed)


def _applies() -> bool:
    return (request.method in STATE_CHANGING and request.path.startswith("/api/") and HEADER in request.headers
            and request.url_rule is not None and current_user.is_authenticated)


def _scope() -> str:
    return f"user:{current_user.id}"


def _mark_committed(session: Session) -> None:
    # In the view's transaction: the key and the action commit together, or neither does. If the
    # key was taken over meanwhile (this request was slower than IDEMPOTENCY_STALE_SECONDS), the
    # action must not commit: the request that took the key runs it.
    if not has_request_context():
        return
    reservation = g.get("idempotency")
    if reservation is None or g.get("idempotency_committed"):
        return
    result = session.execute(store.commit_statement(key_id=reservation.key_id, owner=reservation.owner,
                                                    now=timeutil.now()))
    if result.rowcount != 1:
        raise RuntimeError("the Idempotency-Key was taken over by another request; this one must not act")
    g.idempotency_committed = True


def _replay(answer: store.Answer) -> Response:
    response = current_app.response_class(answer.body, status=answer.status_code, content_type=answer.content_type)
    for name, value in answer.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _before() -> Response | None:
    if not _applies():
        return None
    key = request.headers[HEADER].strip()
    if not _KEY.match(key):
        raise Problem(400, "The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID is best).",
                      title="Bad Idempotency-Key", errors=[{"loc": ["header", HEADER], "msg": "malformed"}])
    config = current_app.config
    scope = _scope()
    request_fingerprint = store.fingerprint(request.method, request.full_path.rstrip("?"), request.get_data(cache=True))
    owner = secrets.token_hex(16)
    deadline = time.monotonic() + float(config["IDEMPOTENCY_WAIT_SECONDS"])
    polls = 0
    while True:
        with db.engine.connect() as connection:
            reservation = store.reserve(
                connection, scope=scope, key=key, request_fingerprint=request_fingerprint, owner=owner,
                now=timeutil.now(), ttl=timedelta(hours=float(config["IDEMPOTENCY_TTL_HOURS"])),
                stale_after=timedelta(seconds=float(config["IDEMPOTENCY_STALE_SECONDS"])))
        if reservation.outcome == "run":
            g.idempotency = reservation
            return None
        if reservation.outcome == "replay":
            assert reservation.answer is not None
            return _replay(reservation.answer)
        if reservation.outcome == "mismatch":
            raise Problem(422, "This Idempotency-Key was already used for a different request. "
                               "Make a new key for each action.",
                          title="Idempotency-Key reused", errors=[{"loc": ["header", HEADER], "msg": "reused"}])
        # The first request with this key is still running: wait for its answer, holding no
        # connection (end the session's transaction: its connection goes back to the pool, and
        # the signed-in user reloads if the view runs after all), so waiters cannot starve it.
        if time.monotonic() >= deadline:
            raise Problem(409, "A request with this Idempotency-Key is still being processed. Try again shortly.",
                          title="Still processing")
        db.session.rollback()
        time.sleep(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)])
        polls += 1


def _after(response: Response) -> Response:
    reservation = g.get("idempotency")
    if reservation is None:
        return response
    committed = g.get("idempotency_committed", False)
    try:
        with db.engine.connect() as connection:
            if not committed and (response.status_code >= 500 or response.status_code in NOT_KEPT
                                  or response.direct_passthrough):
                store.release(connection, key_id=reservation.key_id, owner=reservation.owner)
            else:
                # Whatever it says, an answer given after the action committed is the answer.
                headers = {name: response.headers[name] for name in REPEATED_HEADERS if name in response.headers}
                body = b"" if response.direct_passthrough else response.get_data()
                answer = store.Answer(response.status_code, response.content_type, headers, body)
                store.store_answer(connection, key_id=reservation.key_id, owner=reservation.owner, answer=answer,
                                   now=timeutil.now())
    except Exception:  # noqa: BLE001 - the answer still goes out; the key stays taken
        # Not stored: a retry with this key waits, then gets a 409 until the key expires; an
        # action that committed is never run again.
        log.exception("could not store the answer to Idempotency-Key %s", reservation.key_id)
    g.pop("idempotency", None)
    return response


def _teardown(_error: BaseException | None) -> None:
    # after_request did not run (an exception escaped every handler): the call did not answer.
    reservation: Any = g.pop("idempotency", None)
    if reservation is not None and not g.get("idempotency_committed", False):
        with db.engine.connect() as connection:
            store.release(connection, key_id=reservation.key_id, owner=reservation.owner)
