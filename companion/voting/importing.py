"""Posters from a CSV file: checked whole first, then added all together or not at all.

Columns (a header row, any order): ``board``, ``title``, ``authors``, optional ``abstract``, and
``categories`` (one or more, separated by ";"; default "Best poster"). A board already in the
database is updated; new boards are added with a new random code.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from companion.extensions import db
from companion.voting import services
from companion.voting.models import Poster

REQUIRED = ("board", "title", "authors")
DEFAULT_CATEGORY = "Best poster"
MAX_ROWS = 2000


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int

    def summary(self) -> str:
        """"added 36, updated 0"."""
        return f"added {self.added}, updated {self.updated}"


def parse(data: bytes) -> list[services.PosterFields]:
    """The rows of a poster CSV as checked fields.

    :raise services.VotingError: naming the line and the column of the first problem.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise services.VotingError("file", "The file is not UTF-8 text: save it as CSV UTF-8 and try again.",
                                   loc="file") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip().lower() for name in reader.fieldnames or []}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise services.VotingError("file", f"The first row must name the columns; missing: {', '.join(missing)}.",
                                   loc="line 1")
    rows: list[services.PosterFields] = []
    boards: dict[str, int] = {}
    for raw in reader:
        number = reader.line_num  # the file's line where this row ends (rows may span lines)
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items() if k is not None}
        if not any(value.strip() for value in row.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise services.VotingError("file", f"At most {MAX_ROWS} posters per file.", loc=f"line {number}")
        categories = tuple(c for c in row.get("categories", "").split(";") if c.strip()) or (DEFAULT_CATEGORY,)
        try:
            fields = services.checked_fields(services.PosterFields(
                row.get("board", ""), row.get("title", ""), row.get("authors", ""), row.get("abstract"), categories))
        except services.VotingError as exc:
            raise services.VotingError("file", f"Line {number}, {exc.loc}: {exc}", loc=f"line {number}") from None
        if fields.board in boards:
            raise services.VotingError("file", f"Line {number}: board {fields.board} is also on line "
                                               f"{boards[fields.board]}.", loc=f"line {number}")
        boards[fields.board] = number
        rows.append(fields)
    if not rows:
        raise services.VotingError("file", "The file has no posters.", loc="file")
    return rows


def apply(rows: list[services.PosterFields], *, now: datetime, rng: random.Random) -> ImportReport:
    """Add or update every row (the caller commits once, or rolls back on an error)."""
    existing = {p.board: p for p in db.session.scalars(select(Poster))}
    added = updated = 0
    for fields in rows:
        poster = existing.get(fields.board)
        if poster is None:
            services.add_poster(fields, now=now, rng=rng)
            added += 1
        else:
            services.update_poster(poster, fields, now=now)
            updated += 1
    return ImportReport(added, updated)
