"""Schedule importers: pure functions from a file's bytes to a :class:`ParsedSchedule`.

No database and no Flask here: :func:`parse_schedule` reads, the sync service applies. The format
is recognised by content, never by file name (Sched's ``.json`` downloads may hold CSV).
"""

from __future__ import annotations

import re
from typing import Any

from companion.schedule.importers.c3voc import parse_c3voc
from companion.schedule.importers.common import load_json
from companion.schedule.importers.decoding import DEFAULT_MAX_BYTES, check_size, decode_text
from companion.schedule.importers.frab import parse_frab
from companion.schedule.importers.ical import parse_ical
from companion.schedule.importers.sched import (
    event_rows,
    looks_like_csv,
    parse_sched_csv,
    parse_sched_json,
)
from companion.schedule.interchange import ImportProblem, ParsedSchedule

__all__ = ["DEFAULT_MAX_BYTES", "FORMATS", "ImportProblem", "parse_schedule", "sniff_format"]

FORMATS = ("c3voc-json", "frab-xml", "ical", "sched-csv", "sched-json")

# What may precede the root element: declaration, comments, processing instructions, a DOCTYPE
# (with an internal subset); then the root's name.
_XML_ROOT = re.compile(
    r"^(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*<([A-Za-z_][\w.:-]*)",
    re.DOTALL | re.IGNORECASE,
)


def _sniff(source: str) -> tuple[str, Any]:
    """The format of decoded text, and the parsed JSON document when it is JSON (parsed once).

    :raise ImportProblem: for invalid JSON, XML whose root is not <schedule>, JSON of another
        kind, or text of no known format.
    """
    stripped = source.lstrip()
    if stripped[:1] in ("{", "["):
        document = load_json(source)
        if isinstance(document, dict) and isinstance(document.get("schedule"), dict):
            return "c3voc-json", document
        if event_rows(document) is not None:
            return "sched-json", document
        raise ImportProblem(
            "could not recognise the format: JSON, but neither a c3voc/pretalx schedule "
            "(an object with 'schedule') nor a Sched export (events with 'event_start')"
        )
    if stripped.startswith("<"):
        match = _XML_ROOT.match(stripped)
        root = match.group(1) if match else None
        if root is not None and root.split(":")[-1] != "schedule":
            raise ImportProblem(
                "could not recognise the format: "
                f"XML with root <{root}>, not a frab/pentabarf <schedule>"
            )
        return "frab-xml", None  # a root we could not find: the XML parser says what is wrong
    if stripped[:15].upper() == "BEGIN:VCALENDAR":
        return "ical", None
    if looks_like_csv(source):
        return "sched-csv", None
    first = stripped[:40].splitlines()[0] if stripped else ""
    raise ImportProblem(
        "could not recognise the format: expected c3voc/pretalx JSON, frab XML, iCalendar, "
        f"or a Sched CSV/JSON export (the file starts with {first!r})"
    )


def sniff_format(data: bytes) -> str:
    """Name the format of ``data`` (one of :data:`FORMATS`) by its content.

    :raise ImportProblem: if the bytes are not text in a known encoding or of no known format.
    """
    return _sniff(decode_text(data))[0]


def parse_schedule(
    data: bytes, fmt: str = "auto", timezone: str | None = None, max_bytes: int | None = None
) -> ParsedSchedule:
    """Read a schedule file into a :class:`ParsedSchedule`.

    :param fmt: ``"auto"`` (sniff the content) or one of :data:`FORMATS`; ``"sched-csv"`` also
        takes Sched's JSON (Sched files are named carelessly), ``"sched-json"`` is its alias.
    :param timezone: the organiser's IANA zone (``--timezone``): names the conference's zone
        over the file's claim, and reads times that carry no zone.
    :param max_bytes: refuse larger files; None means :data:`DEFAULT_MAX_BYTES` (200 MB).
    :raise ImportProblem: for a file too big, not text, of no known format, malformed, unsafe
        (XML entities), missing required fields, or with naive times and no ``timezone``; never
        another exception, whatever the bytes.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ImportProblem(f"unknown format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    check_size(data, max_bytes)
    source = decode_text(data)
    sniffed, document = _sniff(source)
    wanted = {"sched-json": "sched-csv"}.get(fmt, fmt)
    found = {"sched-json": "sched-csv"}.get(sniffed, sniffed)
    if wanted != "auto" and wanted != found:
        raise ImportProblem(f"the file was given as {fmt} but its content is {sniffed}")
    try:
        return _parse(sniffed, source, document, timezone)
    except _UNFORESEEN as exc:
        # A safety net: each malformed value the format modules know of has its own message;
        # whatever they did not foresee still refuses the file rather than crashing the import.
        detail = str(exc) or type(exc).__name__
        detail = detail if len(detail) <= 200 else detail[:199] + "…"
        raise ImportProblem(f"the file could not be read: {detail}") from exc


# What a format module may raise on input it did not foresee (UnicodeError is a ValueError).
_UNFORESEEN = (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError)


def _parse(sniffed: str, source: str, document: Any, timezone: str | None) -> ParsedSchedule:
    if sniffed == "c3voc-json":
        return parse_c3voc(document, timezone)
    if sniffed == "sched-json":
        return parse_sched_json(document, timezone)
    if sniffed == "sched-csv":
        return parse_sched_csv(source, timezone)
    if sniffed == "frab-xml":
        return parse_frab(source, timezone)
    return parse_ical(source, timezone)
