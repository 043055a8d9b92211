"""Reading a registration system's attendee CSV: delimiter, columns, and each row's validity.

Eventbrite, Pretix and Tito name their columns differently and spreadsheets re-save files with
another delimiter, so columns are found by name (with synonyms, or as the organiser maps them) and
the delimiter is sniffed. Everything here is pure: the bytes in, rows with their line numbers and
problems out. What the database says about a row (a registration id of someone else) is the
service's part, :mod:`companion.accounts.roster`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from companion.accounts.models import Attendee, User
from companion.accounts.services import AccountError, normalise_email
from companion.schedule.importers.decoding import decode_text
from companion.schedule.interchange import ImportProblem

FIELDS = ("email", "name", "first_name", "last_name", "company", "ticket_type", "registration_id", "language")
FIELD_LABELS = {
    "email": "Email", "name": "Name", "first_name": "First name", "last_name": "Last name", "company": "Company",
    "ticket_type": "Ticket type", "registration_id": "Registration id", "language": "Language",
}
# The fields an import may leave out; a field without a column keeps what is stored.
OPTIONAL_FIELDS = ("company", "ticket_type", "registration_id", "language")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
# What the columns hold, read from the models (PostgreSQL refuses longer values, SQLite would not).
MAX_LENGTHS: dict[str, int] = {
    **{name: User.__table__.c[name].type.length for name in ("email", "name")},
    **{name: Attendee.__table__.c[name].type.length for name in OPTIONAL_FIELDS},
}

# Header names as :func:`header_key` normalises them, most specific first: a file with both an
# "Attendee email" and an "Email" (the buyer's, in Pretix) maps the attendee's.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("attendee email", "attendee e mail", "ticket email", "participant email", "email",
              "e mail", "email address", "e mail address", "mail"),
    "name": ("attendee name", "attendee full name", "ticket full name", "participant name", "full name", "name"),
    "first_name": ("attendee first name", "ticket first name", "first name", "firstname", "given name", "forename"),
    "last_name": ("attendee last name", "ticket last name", "last name", "lastname", "surname", "family name"),
    "company": ("company", "attendee company", "ticket company name", "company name", "organisation",
                "organization", "organisation name", "organization name", "employer", "affiliation"),
    "ticket_type": ("ticket type", "ticket", "ticket name", "ticket class", "ticket category", "product", "release"),
    "registration_id": ("registration id", "registration number", "registration", "attendee id",
                        "attendee number", "ticket id", "ticket number", "ticket reference", "ticket code",
                        "position id", "barcode", "barcode number", "order id", "order code",
                        "order number", "order reference"),
    "language": ("language", "preferred language", "locale", "lang"),
}
_SNIFF_LINES = 50


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header and data rows, each data row with the line it starts on (header: 1)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    delimiter: str


@dataclass(frozen=True)
class RowProblem:
    """Why the row starting on ``line`` cannot be imported."""

    line: int
    reason: str


@dataclass
class AttendeeRow:
    """One person from the file, normalised; ``problems`` empty when the file alone finds no fault."""

    line: int
    email: str
    name: str
    company: str | None = None
    ticket_type: str | None = None
    registration_id: str | None = None
    language: str | None = None
    provided: frozenset[str] = frozenset()  # the optional fields the file has a column for
    problems: list[str] = field(default_factory=list)


def header_key(header: str) -> str:
    """A header as the synonym lists spell it: lowercase words, "#" read as "number"."""
    return " ".join(re.findall(r"[a-z0-9]+", header.replace("#", " number ").lower()))


def column_label(headers: Sequence[str], index: int) -> str:
    """How to name column ``index`` to a person: its header, or its position if the header is empty."""
    return repr(headers[index]) if headers[index].strip() else f"column {index + 1} (no header)"


def _sniff_delimiter(text: str) -> str:
    lines = text.splitlines()
    sample = "\n".join(lines[:_SNIFF_LINES])
    header = next((line for line in lines if line.strip()), "")
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        found = None
    # The sniffer can be fooled by commas inside values; a header split into one column by it is wrong.
    if found in DELIMITERS and header.count(found) > 0:
        return found
    return max(DELIMITERS, key=header.count)


def read_csv(data: bytes, *, delimiter: str | None = None) -> CsvTable:
    """Decode ``data`` (UTF-8, with or without BOM) and split it into a header and rows.

    :param delimiter: ``,``, ``;`` or a tab; None sniffs it from the first lines.
    :raise ImportProblem: for bytes that are not UTF-8 (naming line and column), an empty file,
        or malformed CSV (naming the line).
    """
    text = decode_text(data)
    if delimiter is not None and delimiter not in DELIMITERS:
        raise ImportProblem(f"the delimiter must be one of comma, semicolon or tab, not {delimiter!r}")
    delimiter = delimiter or _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers: list[str] = []
    rows: list[tuple[int, tuple[str, ...]]] = []
    try:
        start = 1
        for values in reader:
            if any(v.strip() for v in values):
                if headers:
                    rows.append((start, tuple(values)))
                else:
                    headers = [v.strip() for v in values]
            start = reader.line_num + 1  # a quoted value may span several lines
    except csv.Error as exc:
        # The row's first line, not where the reader gave up: an unclosed quote runs to the end.
        hint = " (a quote that is never closed?)" if "end of data" in str(exc) else ""
        raise ImportProblem(f"malformed CSV: {exc}{hint}", f"line {start}") from None
    if not headers:
        raise ImportProblem("the file is empty: it needs a header line and a line per attendee")
    return CsvTable(tuple(headers), tuple(rows), delimiter)


def auto_map(headers: Sequence[str]) -> dict[str, int]:
    """Which column holds which field, by header name (case and punctuation ignored, synonyms known)."""
    keys = [header_key(h) for h in headers]
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for name in FIELDS:
        for synonym in SYNONYMS[name]:
            index = next((i for i, key in enumerate(keys) if key == synonym and i not in used), None)
            if index is not None:
                mapping[name] = index
                used.add(index)
                break
    return mapping


def override_map(headers: Sequence[str], mapping: Mapping[str, int], overrides: Iterable[str]) -> dict[str, int]:
    """``mapping`` changed by ``COLUMN=field`` overrides (``COLUMN=`` leaves a column out).

    COLUMN is a header (any case) or a column number from 1.

    :raise ImportProblem: for an override without "=", an unknown column or an unknown field.
    """
    result = dict(mapping)
    keys = [h.strip().lower() for h in headers]
    for override in overrides:
        column, sep, name = override.rpartition("=")
        column, name = column.strip(), name.strip().lower()
        if not sep or not column:
            raise ImportProblem(f"--map {override!r}: write COLUMN=field, for example \"Order #=registration_id\"")
        if column.lower() in keys:
            index = keys.index(column.lower())
        elif column.isdigit() and 1 <= int(column) <= len(headers):
            index = int(column) - 1
        else:
            found = ", ".join(repr(h) for h in headers)
            raise ImportProblem(f"--map {override!r}: the file has no column {column!r} (its columns: {found})")
        if name and name not in FIELDS:
            raise ImportProblem(f"--map {override!r}: {name!r} is not a field; use one of {', '.join(FIELDS)}")
        result = {f: i for f, i in result.items() if i != index}
        if name:
            result[name] = index
    return result


def check_columns(headers: Sequence[str], mapping: Mapping[str, int]) -> None:
    """Refuse a mapping without the required columns.

    :raise ImportProblem: naming the missing fields, the headers found and the ones needed.
    """
    missing = []
    if "email" not in mapping:
        missing.append("email")
    if not {"name", "first_name", "last_name"} & mapping.keys():
        missing.append("name")
    if missing:
        found = ", ".join(repr(h) for h in headers) or "none"
        raise ImportProblem(
            f"no {' and no '.join(missing)} column. The header has: {found}. Needed: an email column "
            "(such as 'Email' or 'E-mail') and a name column ('Name', or 'First Name' and 'Last Name'); "
            "name other columns with --map COLUMN=field or on the mapping page")


def _cell(values: Sequence[str], mapping: Mapping[str, int], name: str) -> str:
    index = mapping.get(name)
    if index is None or index >= len(values):
        return ""
    return " ".join(values[index].split())


def _row(line: int, values: Sequence[str], width: int, mapping: Mapping[str, int]) -> AttendeeRow:
    problems: list[str] = []
    if any(v.strip() for v in values[width:]):
        problems.append(f"{len(values)} values but the header has {width} columns (a value with the delimiter "
                        "in it and no quotes?)")
    raw_email = _cell(values, mapping, "email")
    email = ""  # stays empty when invalid, so it takes no part in the duplicate check
    if not raw_email:
        problems.append("no email address")
    else:
        try:
            email = normalise_email(raw_email)
        except AccountError as exc:
            problems.append(str(exc))
    full_name = _cell(values, mapping, "name") or " ".join(
        part for part in (_cell(values, mapping, "first_name"), _cell(values, mapping, "last_name")) if part)
    if not full_name:
        problems.append("no name")
    optional = {name: _cell(values, mapping, name) or None for name in OPTIONAL_FIELDS}
    row = AttendeeRow(line=line, email=email, name=full_name, **optional,
                      provided=frozenset(name for name in OPTIONAL_FIELDS if name in mapping), problems=problems)
    for name, limit in MAX_LENGTHS.items():
        value = getattr(row, name)
        if value is not None and len(value) > limit:
            problems.append(f"the {FIELD_LABELS[name].lower()} is {len(value)} characters long, over {limit}")
    return row


def _mark_duplicates(rows: Sequence[AttendeeRow], what: str, key: str) -> None:
    lines: dict[str, list[AttendeeRow]] = defaultdict(list)
    for row in rows:
        value = getattr(row, key)
        if value:
            lines[value].append(row)
    for value, same in lines.items():
        if len(same) > 1:
            where = ", ".join(str(r.line) for r in same)
            for row in same:
                row.problems.append(f"the {what} {value} is on more than one line ({where})")


def attendee_rows(table: CsvTable, mapping: Mapping[str, int]) -> list[AttendeeRow]:
    """Every data row as an :class:`AttendeeRow`, with what the file alone shows to be wrong with it:
    invalid or missing email, no name, values too long, emails or registration ids on two lines.

    :raise ImportProblem: if the mapping lacks a required column (see :func:`check_columns`).
    """
    check_columns(table.headers, mapping)
    width = len(table.headers)
    rows = [_row(line, values, width, mapping) for line, values in table.rows]
    _mark_duplicates(rows, "email", "email")
    _mark_duplicates(rows, "registration id", "registration_id")
    return rows


def file_problems(rows: Iterable[AttendeeRow]) -> list[RowProblem]:
    """The rows with problems, one entry per row, in file order."""
    return [RowProblem(row.line, "; ".join(row.problems)) for row in rows if row.problems]
