"""``companion idempotency purge``: delete the Idempotency-Keys whose day is over (run it from cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from companion import timeutil
from companion.extensions import db
from companion.idempotency import store

idempotency_cli = AppGroup("idempotency", help="Idempotency-Keys the API keeps for replayed actions.")


@idempotency_cli.command("purge")
def purge_command() -> None:
    """Delete expired keys and their stored answers."""
    with db.engine.connect() as connection:
        count = store.purge_expired(connection, now=timeutil.now())
    click.echo(f"Deleted {count} expired {'key' if count == 1 else 'keys'}.")
