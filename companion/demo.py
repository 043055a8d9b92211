"""``companion demo``: create or upgrade the SQLite database, load a demo conference, serve it."""

from __future__ import annotations

import random

import click

from companion import create_app


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and exit (used by the tests).")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Run the whole app on sample data: a two-day conference in Paris that starts today."""
    from flask_migrate import upgrade

    from companion import timeutil
    from companion.extensions import db
    from companion.schedule import queries
    from companion.schedule.demo_data import generate_conference
    from companion.schedule.services import apply_schedule

    app = create_app({"ENV": "demo"})
    with app.app_context():
        click.echo(f"Database: {app.config['DATABASE_URL']}", err=True)
        upgrade()
        if queries.get_conference() is None:
            now = timeutil.now()
            today = now.astimezone(timeutil.zone("Europe/Paris")).date()
            parsed = generate_conference(today, random.Random(2026))
            report = apply_schedule(parsed, now=now, rng=random.SystemRandom())
            db.session.commit()
            click.echo(f"Loaded the demo conference: {report.summary()}.", err=True)
        else:
            click.echo("The database already holds a conference; keeping it.", err=True)
    base = f"http://{host}:{port}"
    click.echo(f"Schedule:  {base}/schedule")
    click.echo(f"API:       {base}/api/v1/schedule  (OpenAPI: {base}/api/v1/openapi.json)")
    if not no_serve:
        # Not app.run(): Flask ignores it inside its own command line.
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True)
