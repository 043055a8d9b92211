"""The ``companion`` command: a Flask command group over the app factory.

``companion db upgrade`` is the same as ``flask --app companion db upgrade``.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from companion import create_app


def _build_cli() -> FlaskGroup:
    group = FlaskGroup(create_app=lambda: create_app(), help="Conference Companion: serve, import, export, run the demo.")
    from companion.demo import demo_command

    # Feature commands live on app.cli (see create_app); the demo builds its own app in demo mode.
    group.add_command(demo_command)
    return group


cli = _build_cli()


def main() -> None:
    """Entry point of the ``companion`` console script."""
    cli.main(prog_name="companion")
