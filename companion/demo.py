"""``companion demo``: the whole app on sample data."""

from __future__ import annotations

import click


@click.command("demo")
def demo_command() -> None:
    """Run the demo."""
