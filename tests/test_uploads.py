"""companion.uploads: what staff upload waits between steps, only for its uploader and its page."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from companion import uploads
from companion.schedule.interchange import ImportProblem

NOW = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def folder(app) -> Path:
    """instance/uploads inside an app context, emptied before and after the test."""
    path = Path(app.instance_path) / "uploads"

    def empty() -> None:
        for item in path.glob("*"):
            item.unlink()

    with app.app_context():
        empty()
        yield path
        empty()


def _store(data: bytes = b"data", *, kind: str = "test-import", owner_id: int = 7, now: datetime = NOW) -> str:
    return uploads.store(data, kind=kind, owner_id=owner_id, meta={"filename": "a.csv"}, now=now)


def test_store_then_load_gives_the_bytes_and_the_meta_back(folder):
    token = _store(b"Email\nada@example.org\n")

    assert uploads.load(token, kind="test-import", owner_id=7) == (b"Email\nada@example.org\n", {"filename": "a.csv"})
    assert sorted(p.name for p in folder.iterdir()) == sorted([token, f"{token}.json"])
    assert json.loads((folder / f"{token}.json").read_text()) == {
        "kind": "test-import", "owner_id": 7, "uploaded_at": NOW.isoformat(), "meta": {"filename": "a.csv"}}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_tokens_are_random_and_url_safe(folder):
    tokens = {_store() for _ in range(20)}

    assert len(tokens) == 20
    assert all(len(t) == 32 and set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for t in tokens)


def test_another_person_or_page_gets_the_same_404_as_a_missing_upload(folder):
    token = _store()
    missing = "A" * 32

    for kind, owner_id, wanted in [("test-import", 8, token), ("other-import", 7, token), ("test-import", 7, missing)]:
        with pytest.raises(uploads.UploadGone) as gone:
            uploads.load(wanted, kind=kind, owner_id=owner_id)
        assert (gone.value.status, gone.value.title) == (404, "Upload not found")
    assert uploads.load(token, kind="test-import", owner_id=7)[0] == b"data"


@pytest.mark.parametrize("token", ["../secret_key", "..", "", "A" * 31, "A" * 33, "A" * 31 + ".", "A" * 31 + "/",
                                   "A" * 31 + "\x00", "../../" + "A" * 26])
def test_malformed_tokens_never_reach_the_filesystem(folder, monkeypatch, token):
    (folder.parent / "secret_key.json").write_text(json.dumps({"kind": "test-import", "owner_id": 7}))
    opened: list[str] = []
    real_read_text, real_read_bytes = Path.read_text, Path.read_bytes
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(str(self)) or real_read_text(self, *a, **k))
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(str(self)) or real_read_bytes(self))
    try:
        with pytest.raises(uploads.UploadGone):
            uploads.load(token, kind="test-import", owner_id=7)
        uploads.discard(token, kind="test-import", owner_id=7)  # nothing to do, no error
    finally:
        (folder.parent / "secret_key.json").unlink()

    assert opened == []


def test_discard_deletes_only_the_uploaders_own_upload(folder):
    token = _store()

    with pytest.raises(uploads.UploadGone):
        uploads.discard(token, kind="test-import", owner_id=8)
    with pytest.raises(uploads.UploadGone):
        uploads.discard(token, kind="other-import", owner_id=7)
    assert (folder / token).exists()

    uploads.discard(token, kind="test-import", owner_id=7)
    uploads.discard(token, kind="test-import", owner_id=7)  # twice: already gone is no error

    assert list(folder.iterdir()) == []


def test_sweep_deletes_uploads_older_than_a_day_of_every_page(folder):
    old_schedule = _store(kind="schedule-import", now=NOW - timedelta(days=1, seconds=1))
    old_attendees = _store(kind="attendee-import", now=NOW - timedelta(days=2))
    young = _store(kind="attendee-import", now=NOW - timedelta(hours=23))
    legacy = folder / f"{'L' * 32}.csv"  # the attendee page's files before companion.uploads
    legacy.write_bytes(b"Email\n")
    day_old = (NOW - timedelta(days=1, minutes=1)).timestamp()
    os.utime(legacy, (day_old, day_old))
    stranger = folder / "README"
    stranger.write_text("not an upload")

    uploads.sweep(NOW)

    assert sorted(p.name for p in folder.iterdir()) == sorted([young, f"{young}.json", "README"])
    for token in (old_schedule, old_attendees):
        with pytest.raises(uploads.UploadGone):
            uploads.load(token, kind="attendee-import", owner_id=7)


def test_storing_sweeps_first(folder):
    old = _store(now=NOW - timedelta(days=3))

    new = _store(now=NOW)

    assert sorted(p.name for p in folder.iterdir()) == sorted([new, f"{new}.json"])
    with pytest.raises(uploads.UploadGone):
        uploads.load(old, kind="test-import", owner_id=7)


def test_read_upload_reads_up_to_the_limit(app):
    def upload(data: bytes) -> FileStorage:
        return FileStorage(io.BytesIO(data), filename="x.csv")

    assert uploads.read_upload(upload(b"x" * 100), 100) == b"x" * 100
    with pytest.raises(ImportProblem, match=r"^the file is over the import limit of 0\.0 MB \(COMPANION_MAX_IMPORT_BYTES\)$"):
        uploads.read_upload(upload(b"x" * 101), 100)


@pytest.mark.parametrize(("name", "expected"), [
    ("roster.csv", "roster.csv"), ("C:\\Users\\ada\\roster.csv", "roster.csv"), ("/etc/passwd", "passwd"),
    ("../../x.json", "x.json"), ("", "upload"), (None, "upload"), ("a" * 300, "a" * 200),
])
def test_clean_filename_keeps_the_name_and_drops_folders(name, expected):
    assert uploads.clean_filename(name) == expected
    assert uploads.clean_filename("", default="upload.csv") == "upload.csv"
