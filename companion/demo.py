"""``companion demo``: create or upgrade the SQLite database, load a demo conference, serve it.

Everything is made by the project's own code through the same paths as real data: the schedule
through the sync service, the attendees through the registration-CSV import, check-ins through
the check-in service. It prints a sign-in link for a demo attendee and one for a staff member.
"""

from __future__ import annotations

import atexit
import os
import random
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask

from companion import create_app

DEMO_STAFF_PASSWORD = "demo-staff-password"


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database, print the links and exit (used by the tests).")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Run the whole app on sample data: a two-day conference in Paris that starts today."""
    from flask_migrate import upgrade

    app = create_app({"ENV": "demo"})
    base = f"http://{host}:{port}"
    with app.app_context():
        click.echo(f"Database: {app.config['DATABASE_URL']}", err=True)
        upgrade()
        _load_schedule()
        _load_people()
        _load_hunt()
        raffle_codes = _load_raffles()
        _load_posters()
        public_key = _push_keys(app)
        attendee_link, staff_link = _sign_in_links(app, base)
    click.echo(f"Schedule:  {base}/schedule")
    click.echo(f"API:       {base}/api/v1/schedule  (OpenAPI: {base}/api/v1/openapi.json)")
    click.echo(f"Attendee:  {attendee_link}")
    click.echo(f"Staff:     {staff_link}")
    click.echo(f"           (or {base}/staff/sign-in with sam@staff.example / {DEMO_STAFF_PASSWORD})")
    click.echo("Sign-in links work once, for 15 minutes; restart the demo or ask on /sign-in for new ones "
               "(demo mails are printed here and kept in instance/mail/).")
    click.echo(f"Raffles:   {base}/staff/raffles (the desk; sign in as staff) · public proof of a drawn one: "
               f"{base}/raffles/{raffle_codes[0]}")
    click.echo(f"Posters:   {base}/posters (vote as the attendee) · staff tally: {base}/staff/voting")
    click.echo(f"Offline:   star, vote or open a booth's QR with the connection off (DevTools: Network, Offline); "
               f"{base}/queue shows what waits and what the server answered once it is back")
    click.echo(f"Push:      {base}/me/notifications  (VAPID public key {public_key[:16]}...; "
               "a push worker runs beside the demo: reminders 10 minutes before starred sessions)")
    if not no_serve:
        _start_push_worker(app)
        # Not app.run(): Flask ignores it inside its own command line.
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True)


def _push_keys(app: Flask) -> str:
    """The demo's VAPID key pair, made on first start; returns the public key."""
    from companion.push.vapid import load_keys, write_key_file

    keys = load_keys(app)
    if keys is None:
        write_key_file(Path(app.instance_path))
        keys = load_keys(app)
        click.echo("Made a VAPID key pair for web push in the instance folder.", err=True)
    assert keys is not None
    return keys.public_key


def _start_push_worker(app: Flask) -> None:
    """Run ``companion push worker`` beside the demo server (a separate process, as in production)."""
    env = {**os.environ, "COMPANION_ENV": "demo", "COMPANION_INSTANCE_PATH": app.instance_path}
    worker = subprocess.Popen([sys.executable, "-c", "from companion.cli import main; main()", "push", "worker"],
                              env=env)
    atexit.register(worker.terminate)
    # SIGTERM (a service manager, a test) ends the demo through SystemExit, so atexit stops the worker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _load_hunt() -> None:
    from companion import timeutil
    from companion.accounts import demo_people, services
    from companion.extensions import db
    from companion.hunt.demo_data import load_demo_hunt
    from companion.schedule import queries

    conference = queries.get_conference()
    assert conference is not None
    days = [conference.start_date + timedelta(days=n) for n in range((conference.end_date - conference.start_date).days + 1)]
    staff = services.user_by_email(demo_people.DEMO_STAFF_EMAIL)
    assert staff is not None
    summary = load_demo_hunt(days, now=timeutil.now(), zone=queries.conference_zone(conference),
                             rng=random.Random(2026), staff=staff)
    db.session.commit()
    click.echo(f"Hunt: {summary}.", err=True)


def _load_raffles() -> list[str]:
    from companion import timeutil
    from companion.accounts import demo_people, services
    from companion.extensions import db
    from companion.raffle.demo_data import load_demo_raffles
    from companion.schedule import queries
    from companion.schedule.days import conference_day

    zone = queries.conference_zone(queries.get_conference())
    staff = services.user_by_email(demo_people.DEMO_STAFF_EMAIL)
    assert staff is not None
    now = timeutil.now()
    summary, codes = load_demo_raffles(conference_day(now, zone), now=now, zone=zone, rng=random.Random(2027),
                                       staff=staff, card_url="/hunt")
    db.session.commit()
    click.echo(f"Raffles: {summary}.", err=True)
    return codes


def _load_posters() -> None:
    from companion import timeutil
    from companion.accounts import demo_people, services
    from companion.extensions import db
    from companion.schedule import queries
    from companion.voting.demo_data import load_demo_posters

    staff = services.user_by_email(demo_people.DEMO_STAFF_EMAIL)
    assert staff is not None
    summary = load_demo_posters(now=timeutil.now(), zone=queries.conference_zone(queries.get_conference()),
                                rng=random.Random(2028), staff=staff)
    db.session.commit()
    click.echo(f"Posters: {summary}.", err=True)


def _load_schedule() -> None:
    from companion import timeutil
    from companion.extensions import db
    from companion.schedule import queries
    from companion.schedule.demo_data import generate_conference
    from companion.schedule.services import apply_schedule

    if queries.get_conference() is not None:
        click.echo("The database already holds a conference; keeping it.", err=True)
        return
    now = timeutil.now()
    today = now.astimezone(timeutil.zone("Europe/Paris")).date()
    report = apply_schedule(generate_conference(today, random.Random(2026)), now=now, rng=random.SystemRandom())
    conference = queries.get_conference()
    assert conference is not None
    conference.venue_name = "Station F, Paris"
    conference.wifi_ssid = "PyTorchConf"
    conference.wifi_password = "tensors-for-all"
    db.session.commit()
    click.echo(f"Loaded the demo conference: {report.summary()}.", err=True)


def _load_people() -> None:
    from companion import timeutil
    from companion.accounts import demo_people, importing, roster, services
    from companion.badges.services import check_in
    from companion.extensions import db

    if services.user_by_email(demo_people.DEMO_STAFF_EMAIL) is not None:
        return
    now = timeutil.now()
    staff = services.create_user(demo_people.DEMO_STAFF_EMAIL, "Sam Organiser", now=now)
    services.set_role(staff, "admin", actor=None, now=now)
    services.set_password(staff, DEMO_STAFF_PASSWORD)
    table = importing.read_csv(demo_people.demo_registrations_csv(random.Random(2026)))
    rows = importing.attendee_rows(table, importing.auto_map(table.headers))
    report = roster.import_attendees(rows, now=now, skip_invalid=False, actor=staff, filename="demo-registrations.csv")
    # A morning at the door: a third of the attendees checked in over the last hours.
    rng = random.Random(7)
    attendees = [a for a in _all_attendees() if a.user.email != demo_people.DEMO_ATTENDEE_EMAIL]
    for attendee in rng.sample(attendees, k=len(attendees) // 3):
        check_in(attendee, staff=staff, now=now - timedelta(minutes=rng.randint(5, 240)))
    db.session.commit()
    click.echo(f"Loaded the demo attendees: {report.summary()}; staff: {staff.email}.", err=True)


def _all_attendees() -> list:  # noqa: ANN401 - model list
    from sqlalchemy import select

    from companion.accounts.models import Attendee
    from companion.extensions import db

    return list(db.session.scalars(select(Attendee).order_by(Attendee.id)))


def _sign_in_links(app: Flask, base: str) -> tuple[str, str]:
    from companion import timeutil
    from companion.accounts import demo_people, services
    from companion.extensions import db
    from companion.urls import external_url

    now = timeutil.now()
    tokens = []
    for email in (demo_people.DEMO_ATTENDEE_EMAIL, demo_people.DEMO_STAFF_EMAIL):
        user = services.user_by_email(email)
        assert user is not None
        tokens.append(services.create_sign_in_link(user, now=now))
    db.session.commit()
    with app.test_request_context(base_url=base):
        return external_url("accounts.use_link", token=tokens[0]), external_url("accounts.use_link", token=tokens[1])
