"""``companion attendees import``: the registration system's CSV into the roster."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from companion import timeutil
from companion.accounts import importing, roster
from companion.extensions import db
from companion.files import read_bounded
from companion.schedule.interchange import ImportProblem

attendees_cli = AppGroup("attendees", help="The attendee roster.")

# What people type for a tab: a real tab ($'\t'), the two characters \t, or the word.
_DELIMITER_NAMES = {",": ",", ";": ";", "\t": "\t", "\\t": "\t", "tab": "\t"}


def _say(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the report and the summary."""
    click.echo(message, err=True)


def _delimiter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in _DELIMITER_NAMES:
        raise click.BadParameter("use ',', ';' or tab (\\t)", ctx=ctx, param=param)
    return _DELIMITER_NAMES[value.lower()]


def _describe(headers: tuple[str, ...], mapping: dict[str, int]) -> str:
    return ", ".join(f"{name} <- {importing.column_label(headers, index)}"
                     for name, index in sorted(mapping.items(), key=lambda item: item[1]))


@attendees_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if some rows are invalid.")
@click.option("--map", "overrides", multiple=True, metavar="COLUMN=FIELD",
              help=f"Read FIELD from COLUMN (a header or a number from 1); repeatable. Fields: "
                   f"{', '.join(importing.FIELDS)}. COLUMN= leaves a column out.")
@click.option("--delimiter", callback=_delimiter, metavar="[,|;|\\t]", help="The delimiter (default: detected).")
def import_command(path: Path, dry_run: bool, skip_invalid: bool, overrides: tuple[str, ...],
                   delimiter: str | None) -> None:
    """Add and update attendees from the registration system's CSV export at PATH.

    Columns are found by name (Email, E-mail, First Name, Order ID, Ticket Type ...). People are
    matched by registration id, else by email. Every row is checked first: if any is invalid,
    the invalid rows are listed with their line numbers and nothing is written (unless
    --skip-invalid). The whole import is one transaction.
    """
    started = time.perf_counter()
    data = read_bounded(path, int(current_app.config["MAX_IMPORT_BYTES"]))
    try:
        table = importing.read_csv(data, delimiter=delimiter)
        mapping = importing.override_map(table.headers, importing.auto_map(table.headers), overrides)
        rows = importing.attendee_rows(table, mapping)
    except ImportProblem as problem:
        raise click.ClickException(f"{path}: {problem}. Nothing was imported.") from problem
    _say(f"Read {len(rows)} rows ({importing.DELIMITERS[table.delimiter]}-separated); "
         f"columns: {_describe(table.headers, mapping)}.")
    try:
        report = roster.import_attendees(
            rows, now=timeutil.now(), skip_invalid=skip_invalid, actor=None, filename=path.name,
            progress=lambda done, total: _say(f"  {done} of {total} rows ..."))
    except roster.InvalidRows as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(f"line {problem.line}: {problem.reason}")
        raise click.ClickException(f"{path}: {exc} Fix the file, or import the valid rows with --skip-invalid.") from exc
    except roster.ImportConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"{path}: {exc}") from exc
    except Exception:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for problem in report.problems:
        click.echo(f"line {problem.line}: skipped: {problem.reason}")
    click.echo(("dry run, nothing written: " if dry_run else "") + report.summary())
    _say(f"Done in {time.perf_counter() - started:.2f} s.")
