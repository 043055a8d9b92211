"""Hunt stations from a CSV file (the downloads are written by :mod:`companion.downloads`).

Reading is pure: bytes in, rows with their line numbers and problems out; nothing is written
here. The columns are ``name, location, description, days, required, mode`` (any order, any case;
only ``name`` and ``days`` must be there); ``days`` holds dates (``2026-04-07 2026-04-08``) or
``all`` (every day of the conference). The staff page adds the stations only when every row is
valid, so a file either goes in whole or leaves the database as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from companion.accounts.importing import read_csv
from companion.hunt.services import DESCRIPTION_MAX, LOCATION_MAX, NAME_MAX
from companion.schedule.importers.decoding import decode_text
from companion.schedule.interchange import ImportProblem
from companion.schedule.models import Conference

COLUMNS = ("name", "location", "description", "days", "required", "mode")
REQUIRED_COLUMNS = ("name", "days")
MAX_ROWS = 500
_YES = ("yes", "y", "true", "1", "required")
_NO = ("no", "n", "false", "0", "")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPLIT = re.compile(r"[\s,;]+")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).


@dataclass(frozen=True)
class StationRow:
    """A station the file asks for, checked: what :func:`companion.hunt.services.add_station` takes."""

    line: int
    name: str
    location: str | None
    description: str | None
    days: tuple[date, ...]
    required: bool
    mode: str


@dataclass(frozen=True)
class RowProblem:
    """Why the row on ``line`` (the header is line 1, as in a spreadsheet) cannot be imported."""

    line: int
    reason: str


@dataclass
class StationFile:
    """What a file would add, the problems of its rows, and the columns it has that are not ours."""

    rows: list[StationRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if the file can be imported: rows, none of them with a problem."""
        return bool(self.rows) and not self.problems


def conference_days(conference: Conference | None) -> list[date]:
    """Every day of the conference, from its start date to its end date (none before a schedule)."""
    if conference is None or conference.start_date is None:
        return []
    end = conference.end_date or conference.start_date
    return [conference.start_date + timedelta(days=n) for n in range((end - conference.start_date).days + 1)]


def _days(text: str, known: Sequence[date]) -> tuple[tuple[date, ...], list[str]]:
    """The days a ``days`` cell names, and what is wrong with it."""
    text = text.strip()
    if not known:
        return (), ["the conference's days are not known yet: import the schedule first"]
    span = f"{known[0].isoformat()} to {known[-1].isoformat()}"
    if text.lower() == "all":
        return tuple(known), []
    if not text:
        return (), [f"no days: write the dates ({' '.join(d.isoformat() for d in known)}) or all"]
    days, problems = set(), []
    for part in _SPLIT.split(text):
        if not part:
            continue
        try:
            if not _DATE.fullmatch(part):
                raise ValueError
            day = date.fromisoformat(part)
        except ValueError:
            problems.append(f"days: {part!r} is not a date like {known[0].isoformat()} (or write all)")
            continue
        if day not in known:
            problems.append(f"days: {day.isoformat()} is not a day of the conference ({span})")
        days.add(day)
    return tuple(sorted(days)), problems


def _yes_no(text: str) -> bool | None:
    value = text.strip().lower()
    return True if value in _YES else False if value in _NO else None


def _headers(headers: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Our columns' positions, and the columns we do not know (ignored).

    :raise ImportProblem: a column named twice, or ``name`` or ``days`` missing.
    """
    found: dict[str, int] = {}
    ignored = []
    for index, header in enumerate(headers):
        key = header.strip().lower()
        if key in COLUMNS:
            if key in found:
                raise ImportProblem(f"the column {key!r} is there twice", "line 1")
            found[key] = index
        else:
            ignored.append(header.strip() or f"column {index + 1} (no header)")
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        raise ImportProblem(f"the header has no {' and no '.join(repr(m) for m in missing)} column "
                            f"(the columns are: {', '.join(COLUMNS)})", "line 1")
    return found, ignored


def read_stations(data: bytes, *, days: Sequence[date], existing_names: Iterable[str]) -> StationFile:
    """Read and check a stations CSV (UTF-8, comma, semicolon or tab separated).

    :param days: the conference's days (what ``all`` means; no other day is accepted).
    :param existing_names: names of the stations there are: a row naming one again is a problem
        (importing a file twice must not double every booth).
    :raise ImportProblem: for the file as a whole: not UTF-8, malformed CSV, no header, a missing
        column, no rows, or more than :data:`MAX_ROWS` rows.
    """
    if not decode_text(data).strip():
        raise ImportProblem("the file is empty: it needs a header line (name, location, description, days, "
                            "required, mode) and a line per station")
    table = read_csv(data)
    columns, ignored = _headers(table.headers)
    if not table.rows:
        raise ImportProblem("the file has a header but no stations")
    if len(table.rows) > MAX_ROWS:
        raise ImportProblem(f"the file has {len(table.rows)} rows; at most {MAX_ROWS} stations can be imported at once")
    taken = {name.casefold() for name in existing_names}
    first_line: dict[str, int] = {}
    result = StationFile(ignored_columns=ignored)
    for line, values in table.rows:
        def cell(name: str, values: tuple[str, ...] = values) -> str:
            index = columns.get(name)
            return values[index].strip() if index is not None and index < len(values) else ""

        problems = []
        if len(values) > len(table.headers):
            problems.append(f"{len(values)} values, but the header has {len(table.headers)} columns "
                            "(a value with the delimiter in it needs quotes)")
        name = " ".join(cell("name").split())
        if not name:
            problems.append("no name")
        elif len(name) > NAME_MAX:
            problems.append(f"the name has {len(name)} characters; at most {NAME_MAX}")
        elif name.casefold() in taken:
            problems.append(f"a station named {name!r} exists already")
        elif name.casefold() in first_line:
            problems.append(f"{name!r} is on line {first_line[name.casefold()]} already")
        else:
            first_line[name.casefold()] = line
        location, description = cell("location") or None, cell("description") or None
        if location and len(location) > LOCATION_MAX:
            problems.append(f"the location has {len(location)} characters; at most {LOCATION_MAX}")
        if description and len(description) > DESCRIPTION_MAX:
            problems.append(f"the description has {len(description)} characters; at most {DESCRIPTION_MAX}")
        station_days, day_problems = _days(cell("days"), days)
        problems += day_problems
        required = _yes_no(cell("required"))
        if required is None:
            problems.append(f"required: {cell('required')!r} is neither yes nor no")
        mode = cell("mode").lower() or "rotating"
        if mode not in ("rotating", "fixed"):
            problems.append(f"mode: {cell('mode')!r} is neither rotating nor fixed")
        if problems:
            result.problems.append(RowProblem(line, "; ".join(problems)))
        else:
            result.rows.append(StationRow(line, name, location, description, station_days, bool(required), mode))
    return result
