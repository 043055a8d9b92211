"""The staff schedule import page: upload, dry-run diff, apply or cancel, refusals that write nothing."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from companion.accounts.models import AuditEvent
from companion.schedule import cache
from companion.schedule.importers import parse_schedule
from companion.schedule.interchange import ImportProblem
from companion.schedule.models import Conference, Room, Session, SessionChange
from tests.accounts.factories import csrf_from, make_attendee, make_user, sign_in
from tests.factories import load_schedule

KEYNOTE, COMPILERS, SERVING, WORKSHOP = (
    "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444",
)


def event(guid: str, title: str, start: str, duration: str, room: str) -> dict[str, Any]:
    return {"guid": guid, "id": int(guid[0]), "title": title, "date": start, "duration": duration, "room": room,
            "url": f"https://example.org/{guid}", "persons": [], "links": []}


def c3voc(events: list[dict[str, Any]]) -> bytes:
    """A c3voc schedule.json of ``events`` (local times in Europe/Paris), one day per date."""
    days: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for item in events:
        days.setdefault(item["date"][:10], {}).setdefault(item["room"], []).append(item)
    document = {"schedule": {"version": "1", "conference": {
        "acronym": "testconf", "title": "Test Conf 2026", "start": "2026-04-07", "end": "2026-04-08",
        "time_zone_name": "Europe/Paris",
        "days": [{"index": i + 1, "date": day, "rooms": rooms} for i, (day, rooms) in enumerate(sorted(days.items()))],
    }}}
    return json.dumps(document).encode()


BASELINE = [
    event(KEYNOTE, "Opening Keynote", "2026-04-07T09:00:00+02:00", "00:30", "Master Stage"),
    event(COMPILERS, "Compilers for Everyone", "2026-04-07T10:00:00+02:00", "00:25", "Master Stage"),
    event(SERVING, "Serving Models at Scale", "2026-04-07T10:00:00+02:00", "00:25", "Junior Stage"),
]
# The keynote moves by 15 minutes, the compilers talk changes room, serving leaves, a workshop arrives.
REVISED = [
    event(KEYNOTE, "Opening Keynote", "2026-04-07T09:15:00+02:00", "00:30", "Master Stage"),
    event(COMPILERS, "Compilers for Everyone", "2026-04-07T10:00:00+02:00", "00:25", "Junior Stage"),
    event(WORKSHOP, "Hands-on: Profiling", "2026-04-08T14:00:00+02:00", "01:30", "Founders Cafe"),
]


@pytest.fixture
def staff(db, client):
    user = make_user(email="programme@example.org", name="Programme Team", role="staff")
    sign_in(client, user)
    return user


@pytest.fixture
def uploads(app) -> Path:
    """instance/uploads, with no schedule upload left from another test."""
    folder = Path(app.instance_path) / "uploads"
    _clear(folder)
    yield folder
    _clear(folder)


def _clear(folder: Path) -> None:
    for meta in folder.glob("*.json"):
        if json.loads(meta.read_text()).get("kind") == "schedule-import":
            (folder / meta.stem).unlink(missing_ok=True)
            meta.unlink()


def _stored_uploads(folder: Path) -> list[str]:
    """This page's files in instance/uploads (other upload pages keep theirs there too)."""
    if not folder.exists():
        return []
    ours = {meta.stem for meta in folder.glob("*.json") if json.loads(meta.read_text()).get("kind") == "schedule-import"}
    return sorted(p.name for p in folder.iterdir() if p.name.split(".", 1)[0] in ours)


def _load_baseline() -> None:
    load_schedule(parse_schedule(c3voc(BASELINE)))


def _snapshot(db) -> dict[str, object]:
    state = {
        "conference": db.execute(select(Conference.title, Conference.schedule_version, Conference.updated_at)).all(),
        "sessions": db.execute(select(Session.source_key, Session.title, Session.starts_at, Session.ends_at,
                                      Session.room_id, Session.state, Session.sequence).order_by(Session.source_key)).all(),
        "rooms": db.scalars(select(Room.name).order_by(Room.name)).all(),
        "changes": db.scalar(select(sa.func.count()).select_from(SessionChange)),
        "audit": db.scalar(select(sa.func.count()).select_from(AuditEvent)),
    }
    db.rollback()
    return state


def _upload(client, data: bytes, filename: str = "schedule.json", fmt: str = "auto", zone: str = ""):
    page = client.get("/staff/schedule/import")
    return client.post("/staff/schedule/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "file": (io.BytesIO(data), filename),
        "format": fmt, "timezone": zone,
    })


def _decision(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="(token|seen_version)" value="([^"]*)">', page))
    return {"csrf_token": csrf_from(page), **fields}


def _table(page: str, outcome: str) -> list[tuple[str, ...]]:
    """The rows of the diff table of ``outcome``, as the cells' text."""
    match = re.search(rf'<table class="import-diff import-{outcome}">.*?<tbody>(.*?)</tbody>', page, re.DOTALL)
    if match is None:
        return []
    return [tuple(html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row))
            for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.DOTALL)]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def test_preview_shows_the_dry_run_diff_and_writes_nothing(client, db, staff, uploads):
    _load_baseline()
    before = _snapshot(db)

    response = _upload(client, c3voc(REVISED), filename="../../etc/revised.json")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<strong>added 1, changed 2, cancelled 1, unchanged 0</strong>" in page
    assert _table(page, "added") == [("Hands-on: Profiling", "Wed 8 Apr 14:00–15:30", "Founders Cafe")]
    assert _table(page, "changed") == [
        ("Opening Keynote", "Tue 7 Apr 09:00–09:30 → 09:15–09:45", "Master Stage", ""),
        ("Compilers for Everyone", "Tue 7 Apr 10:00–10:25", "Master Stage → Junior Stage", ""),
    ]
    assert _table(page, "cancelled") == [
        ("Serving Models at Scale", "Tue 7 Apr 10:00–10:25", "Junior Stage", "removed from the schedule"),
    ]
    assert "revised.json (c3voc-json), dry run, nothing written yet" in _text(page)
    assert _snapshot(db) == before
    token = _decision(page)["token"]
    assert _stored_uploads(uploads) == [token, f"{token}.json"]
    assert (uploads / token).read_bytes() == c3voc(REVISED)


def test_apply_writes_the_file_audits_it_clears_the_cache_and_forgets_the_upload(client, db, staff, uploads):
    _load_baseline()
    preview = _upload(client, c3voc(REVISED), filename="revised.json").get_data(as_text=True)
    cache.get_or_render("sentinel", 1, "text/plain", lambda: b"stale")

    response = client.post("/staff/schedule/import/apply", data=_decision(preview))

    assert response.status_code == 200
    assert "<strong>added 1, changed 2, cancelled 1, unchanged 0</strong>" in response.get_data(as_text=True)
    sessions = {s.title: (s.starts_at, s.room.name, s.state) for s in db.scalars(select(Session))}
    assert sessions == {
        "Opening Keynote": (datetime(2026, 4, 7, 7, 15, tzinfo=UTC), "Master Stage", "confirmed"),
        "Compilers for Everyone": (datetime(2026, 4, 7, 8, 0, tzinfo=UTC), "Junior Stage", "confirmed"),
        "Serving Models at Scale": (datetime(2026, 4, 7, 8, 0, tzinfo=UTC), "Junior Stage", "cancelled"),
        "Hands-on: Profiling": (datetime(2026, 4, 8, 12, 0, tzinfo=UTC), "Founders Cafe", "confirmed"),
    }
    audit = db.scalars(select(AuditEvent)).one()
    assert (audit.actor_id, audit.action, audit.subject, audit.details) == (
        staff.id, "schedule.import", "revised.json",
        {"summary": "added 1, changed 2, cancelled 1, unchanged 0", "format": "c3voc-json"},
    )
    assert "sentinel" not in cache._entries  # noqa: SLF001
    assert _stored_uploads(uploads) == []


def test_first_import_into_an_empty_database(client, db, staff, uploads):
    preview = _upload(client, c3voc(BASELINE)).get_data(as_text=True)

    assert "<strong>added 3, changed 0, cancelled 0, unchanged 0</strong>" in preview
    assert [row[0] for row in _table(preview, "added")] == ["Opening Keynote", "Compilers for Everyone", "Serving Models at Scale"]
    assert _decision(preview)["seen_version"] == "0"
    assert db.scalar(select(sa.func.count()).select_from(Conference)) == 0

    response = client.post("/staff/schedule/import/apply", data=_decision(preview))

    assert response.status_code == 200
    assert db.scalar(select(Conference.schedule_version)) == 1
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 3


def test_cancel_forgets_the_upload_and_writes_nothing(client, db, staff, uploads):
    _load_baseline()
    before = _snapshot(db)
    preview = _upload(client, c3voc(REVISED)).get_data(as_text=True)

    response = client.post("/staff/schedule/import/cancel", data=_decision(preview))

    assert response.status_code == 200
    assert "Import cancelled: nothing was changed." in response.get_data(as_text=True)
    assert _stored_uploads(uploads) == []
    assert _snapshot(db) == before
    again = client.post("/staff/schedule/import/apply", data=_decision(preview))
    assert again.status_code == 404
    assert "no longer here" in again.get_data(as_text=True)
    assert _snapshot(db) == before


def test_a_file_that_does_not_parse_is_a_400_naming_the_problem(client, db, staff, uploads):
    _load_baseline()
    before = _snapshot(db)
    untitled = [*REVISED[:1], {**REVISED[1], "title": ""}]
    with pytest.raises(ImportProblem) as expected:
        parse_schedule(c3voc(untitled))

    response = _upload(client, c3voc(untitled), filename="broken.json")
    text = _text(response.get_data(as_text=True))

    assert response.status_code == 400
    assert "broken.json cannot be imported" in text
    message = expected.value.message
    assert f"{message[:1].upper()}{message[1:]}." in text
    assert f"Where: {expected.value.where}" in text
    assert "Nothing was imported." in text
    assert _stored_uploads(uploads) == []
    assert _snapshot(db) == before


def test_a_format_that_does_not_match_the_content_is_refused(client, db, staff, uploads):
    response = _upload(client, c3voc(BASELINE), fmt="frab-xml")

    assert response.status_code == 400
    assert "the file was given as frab-xml but its content is c3voc-json" in _text(response.get_data(as_text=True)).lower()
    assert _stored_uploads(uploads) == []


def test_an_unknown_time_zone_is_refused(client, db, staff, uploads):
    response = _upload(client, c3voc(BASELINE), zone="Mars/Olympus")

    assert response.status_code == 400
    assert "&#39;Mars/Olympus&#39; is not an IANA time zone" in response.get_data(as_text=True)
    assert _stored_uploads(uploads) == []


def test_apply_after_the_schedule_moved_shows_the_new_diff_instead(client, db, staff, uploads):
    _load_baseline()
    preview = _upload(client, c3voc(REVISED)).get_data(as_text=True)
    # Meanwhile someone else imports a version where the keynote already moved.
    meanwhile = [REVISED[0], *BASELINE[1:]]
    load_schedule(parse_schedule(c3voc(meanwhile)), now=datetime(2026, 4, 7, 7, 30, tzinfo=UTC))
    before = _snapshot(db)

    response = client.post("/staff/schedule/import/apply", data=_decision(preview))
    page = response.get_data(as_text=True)

    assert response.status_code == 409
    assert "The schedule changed since your preview" in page
    assert "<strong>added 1, changed 1, cancelled 1, unchanged 1</strong>" in page
    assert [row[0] for row in _table(page, "changed")] == ["Compilers for Everyone"]
    assert _snapshot(db) == before
    assert _decision(page)["seen_version"] == str(before["conference"][0][1])

    applied = client.post("/staff/schedule/import/apply", data=_decision(page))

    assert applied.status_code == 200
    assert db.scalar(select(Session.state).where(Session.source_key == SERVING)) == "cancelled"


def test_an_upload_is_only_for_the_person_who_made_it(app, client, db, staff, uploads):
    _load_baseline()
    preview = _upload(client, c3voc(REVISED)).get_data(as_text=True)
    before = _snapshot(db)
    colleague = app.test_client()
    colleague.environ_base.update(client.environ_base)
    sign_in(colleague, make_user(email="colleague@example.org", role="admin"))
    csrf = csrf_from(colleague.get("/staff/schedule/import").get_data(as_text=True))
    decision = {**_decision(preview), "csrf_token": csrf}

    foreign = colleague.post("/staff/schedule/import/apply", data=decision)
    foreign_cancel = colleague.post("/staff/schedule/import/cancel", data=decision)
    forged = colleague.post("/staff/schedule/import/apply", data={**decision, "token": "../" * 10 + "etc/passwd"})

    assert (foreign.status_code, foreign_cancel.status_code, forged.status_code) == (404, 404, 400)
    assert _snapshot(db) == before
    assert len(_stored_uploads(uploads)) == 2


def test_a_file_identical_to_the_schedule_offers_no_apply(client, db, staff, uploads):
    _load_baseline()

    page = _upload(client, c3voc(BASELINE)).get_data(as_text=True)

    assert "<strong>added 0, changed 0, cancelled 0, unchanged 3</strong>" in page
    assert "applying it would change nothing" in page
    assert "/staff/schedule/import/apply" not in page


def test_staff_home_links_to_the_import_page(client, db, staff):
    page = client.get("/staff/").get_data(as_text=True)

    assert '<a href="/staff/schedule/import">Import the schedule</a>' in page


def test_attendees_cannot_open_the_import_page(client, db):
    sign_in(client, make_attendee(email="curious@example.org").user)

    assert client.get("/staff/schedule/import").status_code == 403


def test_the_importers_warnings_are_shown(client, db, staff, uploads):
    keyless = {key: value for key, value in BASELINE[0].items() if key not in ("guid", "id")}
    expected = parse_schedule(c3voc([keyless])).warnings

    page = _upload(client, c3voc([keyless])).get_data(as_text=True)

    warnings = re.search(r'<ul class="plain-list import-warnings">(.*?)</ul>', page, re.DOTALL)
    assert expected and warnings is not None
    assert [html.unescape(w) for w in re.findall(r"<li>(.*?)</li>", warnings.group(1))] == expected


def test_a_file_over_the_size_limit_is_refused(app, client, db, staff, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_IMPORT_BYTES", 100)

    response = _upload(client, c3voc(BASELINE))

    assert response.status_code == 400
    assert "over the import limit of 0.0 MB" in response.get_data(as_text=True)
    assert _stored_uploads(uploads) == []
    assert db.scalar(select(sa.func.count()).select_from(Session)) == 0
