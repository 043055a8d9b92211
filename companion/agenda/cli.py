"""``companion agenda walking-time`` and ``companion agenda walking-times``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from companion.agenda import queries, services
from companion.extensions import db

agenda_cli = AppGroup("agenda", help="Personal agendas: walking times between the venue's buildings.")


@agenda_cli.command("walking-time")
@click.argument("building")
@click.argument("other")
@click.argument("minutes", type=click.IntRange(0, 120))
def walking_time_command(building: str, other: str, minutes: int) -> None:
    """Set the walking time between BUILDING and OTHER (either order) to MINUTES (0 to 120).

    Agendas then say "leave by 14:20" when two starred sessions in these buildings follow each
    other too closely. Building names are the ones the schedule gives its rooms.
    """
    known = queries.building_names()
    for name in (building.strip(), other.strip()):
        if known and name not in known:
            click.echo(f"warning: no room of the schedule is in a building called {name!r} "
                       f"(known: {', '.join(sorted(known))})", err=True)
    try:
        row = services.set_walking_time(building, other, minutes)
    except services.AgendaError as exc:
        raise click.BadParameter(str(exc)) from exc
    db.session.commit()
    click.echo(f"{row.building_a} <-> {row.building_b}: {row.minutes} min")


@agenda_cli.command("walking-times")
def walking_times_command() -> None:
    """List the walking times between buildings."""
    rows = queries.all_walking_times()
    if not rows:
        click.echo("No walking times set. Add one: companion agenda walking-time BUILDING OTHER MINUTES")
        return
    for row in rows:
        click.echo(f"{row.building_a} <-> {row.building_b}: {row.minutes} min")
