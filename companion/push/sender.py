"""Sending web push messages: encrypt (RFC 8291, aes128gcm), sign (VAPID, RFC 8292), POST (RFC 8030).

Encryption is :mod:`companion.push.encryption`; signing is py-vapid's; the HTTP side is ours,
because at a keynote's 10,000 reminders it decides the rate:

- one aiohttp session and connection pool for the worker's life (keep-alive per push service);
- the VAPID JWT is signed once per push-service origin and reused until an hour before it expires
  (RFC 8292 allows 24 hours; we sign for 12), instead of an ECDSA signature per message;
- every request has a timeout; a push service that is down is an outcome, never an exception.

This module knows nothing of the database: :mod:`companion.push.delivery` claims and records.
"""

from __future__ import annotations

import asyncio
import email.utils
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid02

from companion.push.encryption import encrypt as encrypt_payload
from companion.push.vapid import b64url_decode

PR_SET_PDEATHSIG = 1  # prctl(2)
ENCRYPT_CHUNK = 100  # messages per task handed to an encryption process
TOKEN_LIFETIME = 12 * 3600
RENEW_BEFORE = 3600
ERROR_TEXT_MAX = 300


@dataclass(frozen=True)
class Outgoing:
    """One claimed message, ready to send."""

    id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int
    urgency: str
    topic: str | None


@dataclass(frozen=True)
class Outcome:
    """What the push service answered: ``status`` None means no answer (timeout, refused, DNS)."""

    id: int
    status: int | None
    retry_after: float | None = None
    error: str | None = None


class VapidHeaders:
    """``Authorization: vapid t=..., k=...`` per push-service origin, signed once and reused."""

    def __init__(self, vapid: Vapid02, subject: str, *, clock: Callable[[], float] = time.time) -> None:
        self._vapid = vapid
        self._subject = subject
        self._clock = clock
        self._cache: dict[str, tuple[str, float]] = {}

    def for_endpoint(self, endpoint: str) -> str:
        """The Authorization header for ``endpoint``'s origin."""
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = self._clock()
        cached = self._cache.get(origin)
        if cached is not None and cached[1] - now > RENEW_BEFORE:
            return cached[0]
        expires = int(now) + TOKEN_LIFETIME
        # A fresh claims dict every time: a reused one would carry another origin's "aud".
        header = self._vapid.sign({"sub": self._subject, "aud": origin, "exp": expires})["Authorization"]
        self._cache[origin] = (header, expires)
        return header


def encrypt(message: Outgoing) -> bytes:
    """The message's payload encrypted for its subscription (aes128gcm, a fresh key and salt each time)."""
    return encrypt_payload(message.payload, b64url_decode(message.p256dh), b64url_decode(message.auth))


def _end_with_parent(parent: int) -> None:
    """In an encryption process: end when the worker that started it dies, even by SIGKILL (Linux),
    so a killed worker leaves no helper behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(0)


def encrypt_many(items: list[tuple[bytes, str, str]]) -> list[bytes | str]:
    """Encrypt (payload, p256dh, auth) triples, in an encryption process: each body, or why not."""
    bodies: list[bytes | str] = []
    for payload, p256dh, auth in items:
        try:
            bodies.append(encrypt_payload(payload, b64url_decode(p256dh), b64url_decode(auth)))
        except ValueError as exc:
            bodies.append(f"cannot encrypt for this subscription: {exc}"[:ERROR_TEXT_MAX])
    return bodies


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


class Sender:
    """Sends batches concurrently through one connection pool. Use as ``async with Sender(...) as s``."""

    def __init__(self, headers: VapidHeaders, *, concurrency: int = 64, timeout: float = 10.0,
                 encrypt_processes: int = 0) -> None:
        self._headers = headers
        self._concurrency = concurrency
        self._timeout = timeout
        # Encryption is most of the CPU a message costs; with a spare core, helper processes do it
        # while this one sends (chunks of ENCRYPT_CHUNK, each sent as soon as it is ready).
        self._encrypt_processes = encrypt_processes
        self._pool: ProcessPoolExecutor | None = None
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None  # made in the event loop that sends

    async def __aenter__(self) -> Sender:
        connector = aiohttp.TCPConnector(limit=self._concurrency, limit_per_host=self._concurrency, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout))
        if self._encrypt_processes > 0:
            # spawn: the helpers inherit none of this process's threads, sockets or database pool, and
            # are its own children, so they can be told to end with it (see _end_with_parent).
            self._pool = ProcessPoolExecutor(self._encrypt_processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_end_with_parent, initargs=(os.getpid(),))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Send every message; one outcome per message, in order. At most ``concurrency`` requests
        are in flight across all the batches this sender is sending at once."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._concurrency)
        gate = self._gate

        async def one(message: Outgoing, body: bytes | str | None = None) -> Outcome:
            async with gate:
                return await self.send(message, body)

        if self._pool is None:
            return list(await asyncio.gather(*(one(m) for m in messages)))
        loop = asyncio.get_running_loop()
        chunks = [list(messages[i:i + ENCRYPT_CHUNK]) for i in range(0, len(messages), ENCRYPT_CHUNK)]
        encrypted = [loop.run_in_executor(self._pool, encrypt_many, [(m.payload, m.p256dh, m.auth) for m in chunk])
                     for chunk in chunks]

        async def send_chunk(chunk: list[Outgoing], bodies: asyncio.Future[list[bytes | str]]) -> list[Outcome]:
            return list(await asyncio.gather(*(one(m, b) for m, b in zip(chunk, await bodies, strict=True))))

        sent = await asyncio.gather(*(send_chunk(c, b) for c, b in zip(chunks, encrypted, strict=True)))
        return [outcome for chunk in sent for outcome in chunk]

    async def send(self, message: Outgoing, body: bytes | str | None = None) -> Outcome:
        """Send one message and say what happened (never raises for network trouble).

        :param body: the message already encrypted (or why it could not be); None: encrypt here.
        """
        assert self._session is not None, "use Sender as an async context manager"
        headers = {
            "Authorization": self._headers.for_endpoint(message.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(max(0, message.ttl)),
            "Urgency": message.urgency,
        }
        if message.topic:
            headers["Topic"] = message.topic
        if body is None:
            try:
                body = encrypt(message)
            except ValueError as exc:  # keys that passed validation but fail to encrypt
                body = f"cannot encrypt for this subscription: {exc}"[:ERROR_TEXT_MAX]
        if isinstance(body, str):
            return Outcome(message.id, None, error=body)
        try:
            async with self._session.post(message.endpoint, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    await response.read()  # the connection goes back to the pool
                    return Outcome(message.id, response.status)
                text = await response.text(errors="replace")
                return Outcome(message.id, response.status, parse_retry_after(response.headers.get("Retry-After")),
                               f"{response.status} {response.reason}: {text.strip()}"[:ERROR_TEXT_MAX])
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return Outcome(message.id, None, error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX])
