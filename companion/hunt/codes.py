"""Booth codes: what a station's QR carries, and checking one that an attendee scanned.

A rotating code is ``<station>.<window>.<mac>``: the 30-second window number and the first 10
bytes of HMAC-SHA256(station secret, "<station>:<window>") in base32. The current and the previous
window are accepted, so a code scanned just before it changed still works; a photo of the screen
is useless a minute later. A code scanned offline and sent later (the offline queue) is accepted
if it was valid when scanned and reaches us within the grace staff set (:func:`offline_accepted`).
A fixed code (``<station>.<random>``) is for stations without a
screen: printed once, it works for anyone who has a photo of it, and staff pages say so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WINDOW_SECONDS = 30
ACCEPTED_WINDOWS = 2  # the current one and the one before
MAC_BYTES = 10
_CODE = re.compile(r"^([A-Z0-9]{4,32})\.(?:(\d{1,12})\.([A-Z2-7]{16})|([A-Za-z0-9_-]{16,64}))$")


@dataclass(frozen=True)
class ScannedCode:
    """A code's parts: the station code, and either a window and MAC or a fixed code."""

    station: str
    window: int | None
    mac: str | None
    fixed: str | None


def window_of(moment: datetime) -> int:
    """The 30-second window ``moment`` falls in (counted from the Unix epoch)."""
    return int(moment.timestamp()) // WINDOW_SECONDS


def seconds_left(moment: datetime) -> float:
    """Seconds until the window of ``moment`` ends (the booth screen refreshes then)."""
    return WINDOW_SECONDS - (moment.timestamp() % WINDOW_SECONDS)


def _mac(secret: str, station: str, window: int) -> str:
    digest = hmac.new(bytes.fromhex(secret), f"{station}:{window}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:MAC_BYTES]).decode("ascii")


def rotating_code(station_code: str, secret: str, window: int) -> str:
    """The code a rotating station shows during ``window``."""
    return f"{station_code}.{window}.{_mac(secret, station_code, window)}"


def fixed_code(station_code: str, fixed: str) -> str:
    """The printed code of a fixed station."""
    return f"{station_code}.{fixed}"


def parse(text: str) -> ScannedCode | None:
    """The parts of a scanned code, or None if it is not shaped like one of ours."""
    match = _CODE.fullmatch((text or "").strip())
    if match is None:
        return None
    station, window, mac, fixed = match.groups()
    return ScannedCode(station, int(window) if window else None, mac, fixed)


def mac_matches(scanned: ScannedCode, secret: str) -> bool:
    """True if a rotating code's MAC is the station's for its window (compared in constant time)."""
    return (scanned.window is not None and scanned.mac is not None
            and hmac.compare_digest(_mac(secret, scanned.station, scanned.window), scanned.mac))


def window_accepted(window: int, moment: datetime) -> bool:
    """True if a code of ``window`` is still accepted at ``moment`` (this window or the previous)."""
    current = window_of(moment)
    return current - ACCEPTED_WINDOWS < window <= current


def code_from_scan(text: str) -> str:
    """The code in what was scanned or typed: the code itself, or the booth QR's URL (``.../h/<code>``)."""
    text = (text or "").strip()
    if "/h/" in text:
        text = text.rsplit("/h/", 1)[1].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return text


def window_start(window: int) -> datetime:
    """When ``window`` began (UTC)."""
    return datetime.fromtimestamp(window * WINDOW_SECONDS, UTC)


def scanned_by(window: int, moment: datetime) -> datetime:
    """The latest a code of ``window`` can have been scanned (while accepted), but not after ``moment``."""
    return min(moment, window_start(window + ACCEPTED_WINDOWS))


def offline_accepted(window: int, moment: datetime, grace: timedelta) -> bool:
    """True if a code of ``window``, scanned offline while it was accepted, may still be sent at
    ``moment``: no later than ``grace`` after it stopped being accepted (and not from the future).

    The window is our own clock's evidence of when the code was on the booth's screen, so a phone
    with a wrong clock changes nothing. The price: for ``grace`` more, anyone with a photo of the
    screen who says they were offline is stamped too.
    """
    return window <= window_of(moment) and moment < window_start(window + ACCEPTED_WINDOWS) + grace
