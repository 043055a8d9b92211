"""Files that staff upload, kept between the steps of an import page (preview, then apply).

An upload waits in ``instance/uploads/<token>`` next to ``<token>.json``, which says which page
it belongs to (``kind``), who uploaded it (``owner_id``), when, and whatever the page keeps with
it (``meta``: the file name, the chosen format ...). It is deleted when the page is done with it
(:func:`discard`) or, if nobody finishes or cancels it, at the first upload a day later
(:func:`sweep`).

Rules every page gets by using this module:

* A token is 24 random bytes, URL-safe (32 characters). A token from a client is checked against
  :data:`TOKEN_PATTERN` before any path is built from it: the client never names a path.
* An upload is only for the person who made it, on the page that made it: :func:`load` and
  :func:`discard` treat another person's or another page's upload as one that does not exist
  (:class:`UploadGone`: a 404 problem the error handlers answer with).

Functions that touch the folder need an app context (the folder is in the app's instance path).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from companion.errors import Problem
from companion.files import TooLarge, import_limit, read_at_most
from companion.schedule.interchange import ImportProblem

TOKEN_PATTERN = r"[A-Za-z0-9_-]{32}"
MAX_AGE = timedelta(days=1)
MAX_FILENAME = 200
GONE = ("This upload is no longer here: it was imported or cancelled already, or it is older than a day. "
        "Upload the file again.")
_TOKEN = re.compile(TOKEN_PATTERN)


class UploadGone(Problem):
    """404: no such upload for this page and person (finished, cancelled, swept, someone else's, forged)."""

    def __init__(self) -> None:
        super().__init__(404, GONE, title="Upload not found")


def read_upload(storage: FileStorage, limit: int) -> bytes:
    """The uploaded file's bytes, reading at most ``limit + 1`` of them.

    :raise ImportProblem: ``the file is over the import limit of … MB (COMPANION_MAX_IMPORT_BYTES)``.
    """
    try:
        return read_at_most(storage.stream, limit)
    except TooLarge as exc:
        raise ImportProblem(f"the file is over {import_limit(limit)}") from exc


def clean_filename(name: str | None, default: str = "upload") -> str:
    """The uploaded file's own name for messages and the audit log: no folders (``/`` or ``\\``),
    at most :data:`MAX_FILENAME` characters, ``default`` if nothing is left. Never used as a path.
    """
    return Path((name or "").replace("\\", "/")).name[:MAX_FILENAME] or default


def store(data: bytes, *, kind: str, owner_id: int, meta: dict[str, Any], now: datetime) -> str:
    """Keep ``data`` for the page ``kind`` and the person ``owner_id``; return its new token.

    Uploads older than :data:`MAX_AGE` are swept first. ``meta`` must be JSON-serialisable; it
    comes back from :func:`load`.
    """
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    sweep(now)
    token = secrets.token_urlsafe(24)
    record = {"kind": kind, "owner_id": owner_id, "uploaded_at": now.isoformat(), "meta": meta}
    _write_new(folder / token, data)
    _write_new(folder / f"{token}.json", json.dumps(record).encode())
    return token


def load(token: str, *, kind: str, owner_id: int) -> tuple[bytes, dict[str, Any]]:
    """The bytes and the page's ``meta`` of upload ``token``, if it is ``owner_id``'s on page ``kind``.

    :raise UploadGone: if it is not (malformed token, no such upload, another person's or page's).
    """
    record = _record(token)
    if record is None or record.get("kind") != kind or record.get("owner_id") != owner_id:
        raise UploadGone()
    try:
        data = (_folder() / token).read_bytes()
    except OSError as exc:
        raise UploadGone() from exc
    meta = record.get("meta")
    return data, meta if isinstance(meta, dict) else {}


def discard(token: str, *, kind: str, owner_id: int) -> None:
    """Delete upload ``token`` if it is ``owner_id``'s on page ``kind``; a missing one is no error.

    :raise UploadGone: if it exists and is another person's or another page's (it is kept).
    """
    record = _record(token)
    if record is None:  # malformed, already gone, or half-written (the sweep takes that)
        return
    if record.get("kind") != kind or record.get("owner_id") != owner_id:
        raise UploadGone()
    for path in (_folder() / token, _folder() / f"{token}.json"):
        path.unlink(missing_ok=True)


def sweep(now: datetime) -> None:
    """Delete every upload (of any page) made more than :data:`MAX_AGE` before ``now``.

    An upload's age is the ``uploaded_at`` in its ``.json`` record; files of a token without a
    readable record (a data file whose record was never written, a ``<token>.csv`` left by an
    older version) are judged by their modification time. Files not named after a token stay.
    """
    folder = _folder()
    if not folder.is_dir():
        return
    by_token: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        token = path.name.split(".", 1)[0]
        if _TOKEN.fullmatch(token):
            by_token.setdefault(token, []).append(path)
    for token, paths in by_token.items():
        record = _record(token)
        try:
            uploaded = (datetime.fromisoformat(record["uploaded_at"]) if record is not None
                        else max(datetime.fromtimestamp(p.stat().st_mtime, UTC) for p in paths))
            stale = now - uploaded > MAX_AGE
        except (KeyError, TypeError, ValueError, OSError):  # a naive or missing time, a file gone meanwhile
            stale = False
        if stale:
            for path in paths:
                path.unlink(missing_ok=True)


# --- the folder -----------------------------------------------------------------------------


def _folder() -> Path:
    return Path(current_app.instance_path) / "uploads"


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _record(token: str) -> dict[str, Any] | None:
    """The ``.json`` record of ``token``; ``None`` for a malformed token or a missing or unreadable record."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        record = json.loads((_folder() / f"{token}.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
