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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid02

from companion.push.encryption import encrypt as encrypt_payload
from companion.push.vapid import b64url_decode

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

    def __init__(self, headers: VapidHeaders, *, concurrency: int = 64, timeout: float = 10.0) -> None:
        self._headers = headers
        self._concurrency = concurrency
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._gate: asyncio.Semaphore | None = None  # made in the event loop that sends

    async def __aenter__(self) -> Sender:
        connector = aiohttp.TCPConnector(limit=self._concurrency, limit_per_host=self._concurrency, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        """Send every message; one outcome per message, in order. At most ``concurrency`` requests
        are in flight across all the batches this sender is sending at once."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._concurrency)
        gate = self._gate

        async def one(message: Outgoing) -> Outcome:
            async with gate:
                return await self.send(message)

        return list(await asyncio.gather(*(one(m) for m in messages)))

    async def send(self, message: Outgoing) -> Outcome:
        """Send one message and say what happened (never raises for network trouble)."""
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
        try:
            body = encrypt(message)
        except Exception as exc:  # noqa: BLE001 - keys that passed validation but fail to encrypt
            return Outcome(message.id, None, error=f"cannot encrypt for this subscription: {exc}"[:ERROR_TEXT_MAX])
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
