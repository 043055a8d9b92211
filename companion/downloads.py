"""Files staff download: CSV documents that spreadsheets open safely, sent so no cache keeps them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response

from companion.sessions import not_stored

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (comma separated, CRLF lines, as RFC 4180) of ``header`` and ``rows``.

    Cells starting with ``= + - @`` (or a tab or carriage return) get a leading ``'`` so a name or
    a poster title cannot be a spreadsheet formula.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(v) for v in header])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_download(body: str, filename: str) -> Response:
    """``body`` as a CSV attachment called ``filename`` that no cache keeps (it names people)."""
    response = not_stored(body)
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
