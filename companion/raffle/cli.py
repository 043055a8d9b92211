"""``companion raffle verify`` and ``companion raffle proof``: check a draw, print its proof."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from companion.raffle import proof as proofs
from companion.raffle import queries

raffle_cli = AppGroup("raffle", help="Raffles: print a draw's proof, or check one.")


def _load(source: str) -> dict[str, Any]:
    """A proof from a file ("-" for standard input), an https URL, or this instance's raffle code."""
    try:
        if source == "-":
            return json.load(sys.stdin)
        if source.startswith(("https://", "http://")):
            with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 - the user's own URL
                return json.load(response)
        path = Path(source)
        if path.suffix == ".json" or path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"Cannot read a proof from {source}: {exc}") from exc
    raffle = queries.by_code(source.strip().upper())
    if raffle is None:
        raise click.ClickException(f"{source} is neither a proof file nor the code of a raffle here.")
    return queries.proof(raffle)


@raffle_cli.command("verify")
@click.argument("source")
def verify_command(source: str) -> None:
    """Recompute a draw from its proof: SOURCE is a raffle code, a proof.json file ("-": stdin) or its URL.

    Exits 1 naming the first mismatch (a tampered list, seed or winner).
    """
    proof = _load(source)
    if not isinstance(proof, dict):
        raise click.ClickException("A proof is a JSON object; see GET /api/v1/raffles/<code>/proof.")
    found = proofs.problems(proof)
    if found:
        click.echo(f"NOT VERIFIED: {found[0]}", err=True)
        sys.exit(1)
    winners = ", ".join(f"{w['entry']} (k={w['k']}, {w['status']})" for w in sorted(proof["winners"], key=lambda w: w["k"]))
    click.echo(f"Verified: {len(proof['entries']):,} entries, list_hash and commitment match, "
               f"winners {winners or 'none yet'}.")


@raffle_cli.command("proof")
@click.argument("code")
def proof_command(code: str) -> None:
    """Print raffle CODE's proof as JSON (what GET /api/v1/raffles/<code>/proof answers)."""
    raffle = queries.by_code(code.strip().upper())
    if raffle is None:
        raise click.ClickException(f"There is no raffle with the code {code}.")
    click.echo(json.dumps(queries.proof(raffle), indent=2))
