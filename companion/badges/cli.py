"""``companion badges print``: the badge sheet PDF for everyone or for a list of attendees."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from companion.badges.sheets import LAYOUTS, badge_faces, render_badge_sheet, select_attendees, sheet_info
from companion.files import TooLarge, read_file_at_most
from companion.schedule.queries import get_conference

badges_cli = AppGroup("badges", help="Print-ready badge sheets.")

MAX_LIST_BYTES = 5_000_000
EMAIL_HEADERS = ("email", "e-mail", "email address", "mail")
SHOWN_UNKNOWN = 20


def _say(message: str) -> None:
    """Progress and warnings go to stderr, so stdout carries only the summary line."""
    click.echo(message, err=True)


def read_attendee_list(path: Path) -> list[str]:
    """The entries of an ``--attendees`` file: one email or registration id per line, or a CSV
    file (comma, semicolon or tab) with an ``email`` column. Blank lines and ``#`` comments are skipped.

    :raise click.ClickException: if the file is unreadable, too large, not UTF-8, or a CSV file
        without an email column.
    """
    try:
        data = read_file_at_most(path, MAX_LIST_BYTES)
    except TooLarge as exc:
        size = f"{exc.size:,} bytes" if exc.size is not None else f"over {exc.limit:,} bytes"
        raise click.ClickException(f"{path}: {size} is too large for a list of attendees.") from exc
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read the file ({exc.strerror}).") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8.") from exc
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    delimiter = next((d for d in ",;\t" if d in lines[0]), None)
    if delimiter is None:
        return [line.strip() for line in lines]
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in EMAIL_HEADERS if name in header), None)
    if column is None:
        raise click.ClickException(f"{path}: a CSV file needs an email column; its columns are "
                                   f"{', '.join(rows[0])}. Or give one email or registration id per line.")
    return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]


@badges_cli.command("print")
@click.option("--attendees", "attendee_list", type=click.Path(dir_okay=False, path_type=Path),
              help="Only these attendees: one email or registration id per line, or a CSV file with an email column.")
@click.option("--layout", type=click.Choice(LAYOUTS), default="a6", show_default=True,
              help="a6: one badge per A6 page; letter-4x3: six 4x3 in badges per US Letter page, with crop marks.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The PDF file to write.")
def print_command(attendee_list: Path | None, layout: str, output: Path) -> None:
    """Write print-ready badges, sorted by name, to a PDF file.

    Each badge has a front (name, company, ticket type, badge QR) and a back (Wi-Fi and app QR
    codes); print duplex, flipping on the long edge. Badge QR codes point at PUBLIC_URL.
    """
    started = time.perf_counter()
    entries = read_attendee_list(attendee_list) if attendee_list is not None else None
    attendees, unknown = select_attendees(entries)
    if unknown:
        more = len(unknown) - SHOWN_UNKNOWN
        shown = ", ".join(unknown[:SHOWN_UNKNOWN]) + (f" and {more} more" if more > 0 else "")
        what = "1 entry matches" if len(unknown) == 1 else f"{len(unknown)} entries match"
        _say(f"warning: {what} no attendee in {attendee_list}, skipped: {shown}")
    if not attendees:
        raise click.ClickException("no attendees to print: " + (
            f"nobody in {attendee_list} is registered." if entries is not None else "import the attendees first."))
    conference = get_conference()
    if conference is None:
        _say("warning: no conference imported yet: badges say 'Conference' and have no Wi-Fi code.")
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):  # absolute URLs outside a request
        faces, info = badge_faces(attendees), sheet_info(conference)

    rendering = time.perf_counter()

    def progress(done: int, total: int) -> None:
        _say(f"  {done}/{total} badges, {done / (time.perf_counter() - rendering):.0f} badges/s")

    partial = output.with_name(output.name + ".part")  # a failed run leaves no half-written PDF behind
    try:
        with partial.open("wb") as handle:
            result = render_badge_sheet(faces, info, handle, layout=layout, progress=progress)
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"{output}: cannot write the file ({exc.strerror}).") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    for warning in result.warnings:
        _say(f"warning: {warning}")
    click.echo(f"wrote {result.badges} badges ({result.pages} pages) to {output} "
               f"in {time.perf_counter() - started:.1f} s")
