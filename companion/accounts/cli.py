"""``companion users ...``: accounts from the command line."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from companion import timeutil
from companion.accounts import services
from companion.extensions import db
from companion.urls import external_url

users_cli = AppGroup("users", help="Staff accounts and sign-in links.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="", help="The person's name (default: the address).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for when not given; at least 12 characters.")
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account for EMAIL (or make an existing person admin) with a password."""
    now = timeutil.now()
    try:
        user = services.user_by_email(email) or services.create_user(email, name or email, now=now)
        services.set_role(user, "admin", actor=None, now=now)
        services.set_password(user, password)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{user.email} is an admin. Sign in at /staff/sign-in.")


@users_cli.command("sign-in-link")
@click.argument("email")
def sign_in_link(email: str) -> None:
    """Print a fresh sign-in link for EMAIL (valid 15 minutes, once)."""
    user = services.user_by_email(email)
    if user is None:
        raise click.ClickException(f"no account for {email}")
    token = services.create_sign_in_link(user, now=timeutil.now())
    db.session.commit()
    click.echo(link_for_cli(token))


def link_for_cli(token: str) -> str:
    """The sign-in link for ``token``, on PUBLIC_URL (or the demo's address) outside any request."""
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context(base_url=base):
        return external_url("accounts.use_link", token=token)
