"""``companion push vapid-keys`` and ``companion push worker``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from companion.push import worker
from companion.push.vapid import VapidError, load_keys, subject_for, write_key_file

push_cli = AppGroup("push", help="Web push: the VAPID key pair and the delivery worker.")


@push_cli.command("vapid-keys")
@click.option("--force", is_flag=True, help="Replace an existing key (every device must subscribe again).")
def vapid_keys_command(force: bool) -> None:
    """Create the VAPID key pair in the instance folder and print the public key.

    With COMPANION_VAPID_PRIVATE_KEY set, that key is used and nothing is written.
    """
    app = current_app._get_current_object()  # noqa: SLF001
    try:
        if app.config.get("VAPID_PRIVATE_KEY"):
            click.echo("Using COMPANION_VAPID_PRIVATE_KEY; nothing written.", err=True)
        else:
            path = write_key_file(Path(app.instance_path), force=force)
            click.echo(f"Wrote {path} (keep it secret, and back it up: a new key means every device "
                       "subscribes again).", err=True)
        keys = load_keys(app)
        subject = subject_for(app)
    except VapidError as exc:
        raise click.ClickException(str(exc)) from exc
    assert keys is not None
    click.echo(f"VAPID subject: {subject}", err=True)
    click.echo(keys.public_key)


@push_cli.command("worker")
@click.option("--once", is_flag=True, help="One pass: plan, send everything due now, then exit (for cron).")
@click.option("--batch", "batch_size", type=click.IntRange(1, 5000), default=500, show_default=True,
              help="Messages claimed per batch.")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=64, show_default=True,
              help="Requests in flight at once.")
@click.option("--timeout", type=click.FloatRange(0.5, 120), default=10.0, show_default=True,
              help="Seconds to wait for a push service's answer.")
@click.option("--lease", type=click.IntRange(5, 3600), default=60, show_default=True,
              help="Seconds a claimed batch stays this worker's before another may claim it.")
@click.option("--encrypt-processes", type=click.IntRange(0, 64), default=None,
              help="Helper processes that encrypt messages while this one sends. Default: 1 if the machine has "
                   "more than one core, else 0.")
def worker_command(once: bool, batch_size: int, concurrency: int, timeout: float, lease: int,
                   encrypt_processes: int | None) -> None:
    """Deliver push messages: plan reminders, change alerts and announcements, then send what is due.

    Runs until stopped (Ctrl-C or SIGTERM finish the batch in hand, then exit). On PostgreSQL,
    run as many as you like on as many machines; on SQLite run one.
    """
    app = current_app._get_current_object()  # noqa: SLF001
    if encrypt_processes is None:
        encrypt_processes = 1 if (os.cpu_count() or 1) > 1 else 0
    options = worker.WorkerOptions(once=once, batch_size=batch_size, concurrency=concurrency, timeout=timeout,
                                   lease=timedelta(seconds=lease), encrypt_processes=encrypt_processes)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

    def progress(totals: worker.WorkerTotals) -> None:
        if sys.stderr.isatty() or once:
            click.echo(f"\rsent {totals.sent}  retrying {totals.retried}  failed {totals.failed}  "
                       f"expired {totals.expired}", err=True, nl=False)

    try:
        totals = worker.run(app, options, stop=stop, progress=progress)
    except VapidError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(("\n" if totals.batches and (sys.stderr.isatty() or once) else "")
               + f"planned {totals.planned}, sent {totals.sent}, retried {totals.retried}, failed {totals.failed}, "
               f"expired {totals.expired}; devices removed {totals.subscriptions_deleted}, "
               f"flagged {totals.subscriptions_flagged}", err=True)
