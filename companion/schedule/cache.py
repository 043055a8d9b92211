"""Per-process cache of rendered schedule documents (the API document and the exports).

Rendering 1,000 sessions costs milliseconds; serving cached bytes costs microseconds. An entry is
keyed by the conference's ``schedule_version``, which every import that changes anything bumps.
A worker re-reads that version at most every ``SCHEDULE_CACHE_SECONDS`` (tests use 0), so a change
reaches every worker of every machine within that time without any cross-process messaging.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_lock = threading.Lock()
_entries: dict[str, Rendered] = {}
MAX_ENTRIES = 16  # documents kept per process; the oldest goes first (entries can be large)
_version_seen: tuple[float, str] | None = None  # (monotonic time read, version)


@dataclass(frozen=True)
class Rendered:
    """A rendered document: its bytes, its gzip form and its strong ETag."""

    version: str
    body: bytes
    gzipped: bytes
    etag: str
    mimetype: str


def current_version(read_version: Callable[[], str], max_age: float) -> str:
    """The schedule version, read through ``read_version`` unless read less than ``max_age`` s ago."""
    global _version_seen
    seen = _version_seen
    now = time.monotonic()
    if seen is not None and max_age > 0 and now - seen[0] < max_age:
        return seen[1]
    version = read_version()
    _version_seen = (now, version)
    return version


def get_or_render(name: str, version: str, mimetype: str, render: Callable[[], bytes]) -> Rendered:
    """Return the cached rendering of ``name`` at ``version``, rendering it if needed."""
    entry = _entries.get(name)
    if entry is not None and entry.version == version:
        return entry
    with _lock:
        entry = _entries.get(name)
        if entry is not None and entry.version == version:
            return entry
        body = render()
        entry = Rendered(
            version=version,
            body=body,
            # mtime=0: the same document always gzips to the same bytes.
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag=hashlib.sha256(body).hexdigest()[:32],
            mimetype=mimetype,
        )
        _entries.pop(name, None)
        _entries[name] = entry
        while len(_entries) > MAX_ENTRIES:
            del _entries[next(iter(_entries))]
        return entry


def clear() -> None:
    """Forget everything (tests, and after an import in this process)."""
    global _version_seen
    with _lock:
        _entries.clear()
        _version_seen = None
