"""``companion schedule import`` and ``companion schedule export``."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from companion import timeutil
from companion.extensions import db
from companion.files import read_bounded
from companion.schedule import cache
from companion.schedule.interchange import ImportProblem
from companion.schedule.services import ImportReport, apply_schedule

schedule_cli = AppGroup("schedule", help="Import and export the schedule.")

IMPORT_FORMATS = ("auto", "c3voc-json", "frab-xml", "ical", "sched-csv")
EXPORT_FORMATS = ("json", "xml", "ics")


def _say(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the summary (and the export itself)."""
    click.echo(message, err=True)


def _print_changes(report: ImportReport) -> None:
    for diff in report.diffs:
        if diff.outcome == "added":
            click.echo(f"  + {diff.title}")
            continue
        marker = "x" if diff.outcome == "cancelled" else "~"
        details = "; ".join(f"{kind}: {old} -> {new}" if old is not None else f"{kind}: {new}" for kind, old, new in diff.changes)
        click.echo(f"  {marker} {diff.title} ({details})")


@schedule_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), default="auto", show_default=True,
              help="The file's format; auto looks at the content, not the name.")
@click.option("--timezone", "zone", metavar="ZONE", help="IANA zone for times without one (Sched exports), e.g. Europe/Paris.")
@click.option("--dry-run", is_flag=True, help="Show what would change and write nothing.")
def import_command(path: Path, fmt: str, zone: str | None, dry_run: bool) -> None:
    """Import or re-import the schedule from PATH.

    Sessions are matched by the id the file gives them: new ones are added, changed ones updated
    (and their changes recorded), missing ones marked cancelled. The whole import is one
    transaction: a file with an error changes nothing.
    """
    from companion.schedule.importers import parse_schedule

    if zone is not None and not timeutil.is_known_zone(zone):
        raise click.BadParameter(f"{zone!r} is not an IANA time zone (for example Europe/Paris)", param_hint="--timezone")
    limit = int(current_app.config["MAX_IMPORT_BYTES"])
    started = time.perf_counter()
    _say(f"Reading {path} ...")
    data = read_bounded(path, limit)
    try:
        parsed = parse_schedule(data, fmt=fmt, timezone=zone, max_bytes=limit)
    except ImportProblem as problem:
        raise click.ClickException(f"{path}: {problem}. Nothing was imported.") from problem
    _say(f"Parsed {len(parsed.sessions)} sessions, {len(parsed.speakers)} speakers, {len(parsed.rooms)} rooms "
         f"({parsed.format}) in {time.perf_counter() - started:.2f} s; applying ...")
    for warning in parsed.warnings:
        click.echo(f"warning: {warning}", err=True)
    try:
        report = apply_schedule(parsed, now=timeutil.now(), rng=random.SystemRandom())
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if report.wrote and not dry_run:
        cache.clear()
    prefix = "dry run, nothing written: " if dry_run else ""
    click.echo(prefix + report.summary())
    if dry_run or report.diffs and len(report.diffs) <= 200:
        _print_changes(report)
    _say(f"Done in {time.perf_counter() - started:.2f} s.")


@schedule_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
def export_command(fmt: str, output: Path | None) -> None:
    """Export the schedule as c3voc schedule.json, frab schedule.xml or iCalendar."""
    from companion.errors import Problem
    from companion.schedule.exporters import render_export

    try:
        data = render_export(fmt)
    except Problem as problem:
        raise click.ClickException(problem.detail) from problem
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        _say(f"Wrote {len(data):,} bytes to {output}.")
