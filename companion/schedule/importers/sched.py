"""Sched (sched.com) API exports: CSV, or JSON (a list of event objects), with the same columns.

Columns: ``event_key, active, name, event_start, event_end, event_type, event_subtype,
description, venue, id, venue_id, speakers``. Times are naive local "YYYY-MM-DD HH:MM[:SS]",
so the conference's zone must come from the organiser. A file named ``.json`` may hold CSV
(and the other way round): the content decides.
"""

from __future__ import annotations

import csv
from typing import Any

from companion.schedule.importers.builder import ScheduleBuilder
from companion.schedule.importers.common import (
    event_label,
    int_or_none,
    parse_datetime,
    text,
    web_url,
)
from companion.schedule.interchange import ImportProblem, ParsedSchedule, ParsedSession

NAIVE_TIMES = (
    "Sched exports have times without a zone: pass --timezone Europe/Paris (the conference's zone)"
)
_INACTIVE = {"n", "no", "0", "false"}

Row = dict[str, Any]


def _delimiter(header: str) -> str:
    """The CSV delimiter: spreadsheets re-save with ';' or tabs depending on the locale."""
    return max((",", ";", "\t"), key=header.count)


def looks_like_csv(source: str) -> bool:
    """True if the first non-blank line is a CSV header with an ``event_start`` column."""
    header = next((line for line in source.splitlines() if line.strip()), "")
    columns = next(csv.reader([header], delimiter=_delimiter(header)), [])
    return "event_start" in (c.strip().lower() for c in columns)


def event_rows(document: Any) -> list[Any] | None:
    """The list of event objects in a Sched JSON document, or None if it is not one.

    Accepts a list of objects, an object holding such a list, or an object keyed by event id.
    """
    candidates: list[Any] = [document]
    if isinstance(document, dict):
        candidates += [v for v in document.values() if isinstance(v, list)]
        candidates.append(list(document.values()))
    for candidate in candidates:
        if (
            isinstance(candidate, list)
            and candidate
            and isinstance(candidate[0], dict)
            and any("event_start" in item for item in candidate if isinstance(item, dict))
        ):
            return candidate
    return None


def _csv_rows(source: str) -> list[tuple[str, Row]]:
    """The data rows as dicts keyed by lowercased column name, each with the line it starts on."""
    lines = source.splitlines(keepends=True)
    header_line = next((line for line in lines if line.strip()), "")
    reader = csv.reader(lines, delimiter=_delimiter(header_line))
    rows: list[tuple[str, Row]] = []
    try:
        columns: list[str] = []
        while not any(c.strip() for c in columns):  # blank lines before the header
            columns = next(reader)
        names = [c.strip().lower() for c in columns]
        start = reader.line_num + 1
        for values in reader:
            if any(v.strip() for v in values):
                rows.append((f"line {start}", dict(zip(names, values, strict=False))))
            start = reader.line_num + 1  # a quoted description may span several lines
    except csv.Error as exc:
        raise ImportProblem(f"malformed CSV: {exc}", f"line {reader.line_num}") from None
    return rows


def _speakers(value: Any, builder: ScheduleBuilder) -> list[str]:
    """Speaker names (Sched has no speaker ids in exports): a comma-separated string or a list."""
    if isinstance(value, list):
        names = [text(v.get("name")) if isinstance(v, dict) else text(v) for v in value]
    else:
        names = [text(part) for part in (text(value) or "").split(",")]
    keys: list[str] = []
    for name in names:
        if name and name not in keys:
            keys.append(builder.add_speaker(name, name))
    return keys


def _event(row: Row, where: str, builder: ScheduleBuilder) -> None:
    name, event_key, event_id = (
        text(row.get("name")),
        text(row.get("event_key")),
        text(row.get("id")),
    )
    ident = f"event_key {event_key}" if event_key else f"id {event_id}" if event_id else where
    label = event_label(name, ident)
    if not name:
        raise ImportProblem("has no name (title)", f"{where}, {label}")
    if not text(row.get("event_start")):
        raise ImportProblem("has no event_start", f"{where}, {label}")
    start = parse_datetime(row.get("event_start"), label, "event_start")
    if start.tzinfo is None and not builder.override:
        raise ImportProblem(NAIVE_TIMES)
    start = builder.moment(start, label, "event_start")
    if text(row.get("event_end")):
        end = builder.moment(
            parse_datetime(row["event_end"], label, "event_end"), label, "event_end", evidence=False
        )
    else:
        builder.warn(f"{label}: no event_end, taken as 0 minutes")
        end = start
    key = event_key or event_id
    if not key:
        key = where  # unstable if rows move, hence the warning
        builder.warn(f"{label}: neither event_key nor id; keyed {key!r}")
    session = ParsedSession(
        key=builder.claim_key(key, [f"id:{event_id}" if event_id else None], label, "event_key"),
        title=name,
        start=start,
        end=end,
        room=builder.add_room(row.get("venue")),
        # event_type is Sched's category (what other tools call a track); the subtype is the kind.
        track=builder.add_track(row.get("event_type")),
        type=text(row.get("event_subtype")),
        level=text(row.get("level"))
        or text(row.get("audience_level"))
        or text(row.get("audience")),
        description=text(row.get("description")),
        external_id=int_or_none(event_id),
        url=web_url(row.get("event_url")) or web_url(row.get("url")),
        cancelled=str(row.get("active", "")).strip().lower() in _INACTIVE
        or row.get("active") is False,
        speakers=_speakers(row.get("speakers"), builder),
    )
    builder.add_session(session, label)


def _build(rows: list[tuple[str, Row]], fmt: str, timezone: str | None) -> ParsedSchedule:
    builder = ScheduleBuilder(fmt, timezone)
    for where, row in rows:
        _event(row, where, builder)
    # Sched exports name no conference and no zone: the organiser's --timezone names it.
    return builder.finish(title=None)


def parse_sched_csv(source: str, timezone: str | None = None) -> ParsedSchedule:
    """Read a Sched CSV export.

    :param timezone: the conference's IANA zone; required, as Sched's times are naive.
    :raise ImportProblem: without ``timezone`` (naming the flag), for malformed CSV, or a row
        without a name or event_start (naming the line).
    """
    if not looks_like_csv(source):
        raise ImportProblem(
            "not a Sched CSV export: the header has no event_start column", "line 1"
        )
    return _build(_csv_rows(source), "sched-csv", timezone)


def parse_sched_json(document: Any, timezone: str | None = None) -> ParsedSchedule:
    """Read a Sched JSON export (already parsed from JSON).

    :param timezone: the conference's IANA zone; required, as Sched's times are naive.
    :raise ImportProblem: without ``timezone``, or for an item without a name or event_start.
    """
    items = event_rows(document)
    if items is None:
        raise ImportProblem("not a Sched JSON export: no list of events with event_start")
    rows: list[tuple[str, Row]] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ImportProblem(f"item {number} is not an object")
        rows.append((f"item {number}", {str(k).strip().lower(): v for k, v in item.items()}))
    return _build(rows, "sched-json", timezone)
