"""What the database was asked to write while a piece of test code ran."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from companion.extensions import db


def rows_written_during(fn: Callable[[], Any]) -> list[str]:
    """The SQL statements run by ``fn`` that wrote at least one row (INSERT, UPDATE or DELETE), in order."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and cursor.rowcount != 0:
            statements.append(statement)

    event.listen(db.engine, "after_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "after_cursor_execute", record)
    return statements
