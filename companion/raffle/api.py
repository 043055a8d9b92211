"""Raffle JSON API: ``GET /api/v1/raffles/<code>/proof``, public, for anyone to check a draw.

Before the freeze the proof has no entries; after it, the sorted entry codes (pseudonyms, never
names), the excluded ones, ``list_hash`` and ``commitment``; after the draw, the seed and the
winners with their position ``k`` in the sequence and their status. ``companion raffle verify``
and the README's twenty lines of Python check it.
"""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field
from spectree import Response as SpecResponse

from companion.accounts import my_data
from companion.errors import Problem
from companion.extensions import api_spec
from companion.raffle import queries
from companion.raffle.my_data import export_entries
from companion.sessions import mark_public

bp = Blueprint("raffle_api", __name__, url_prefix="/api/v1/raffles")
my_data.register_exporter("raffle_entries", export_entries)


class WinnerOut(BaseModel):
    entry: str = Field(description="the winner's entry code")
    k: int = Field(description="the position in the sha256-counter-v1 sequence that drew it")
    status: str = Field(description="drawn (may still claim), claimed, or not_claimed (a later k replaced it)")


class ProofOut(BaseModel):
    """Everything needed to recompute the winners (see the README: "Checking a raffle draw")."""

    algorithm: str = Field(description="sha256-counter-v1")
    raffle: str
    winners_wanted: int
    entries: list[str] = Field(description="the frozen entries, sorted (empty before the freeze)")
    excluded: list[str] = Field(description="entries the draw skips: earlier winners")
    list_hash: str | None = Field(description='hex SHA-256 of the entries joined with "\\n" (UTF-8)')
    commitment: str | None = Field(description="hex SHA-256 of the seed, published at the freeze")
    seed: str | None = Field(description="the 32-byte seed in hex, revealed at the draw")
    winners: list[WinnerOut]


@bp.get("/<code>/proof")
@api_spec.validate(resp=SpecResponse(HTTP_200=ProofOut, HTTP_404=None), tags=["raffles"])
def proof(code: str) -> ProofOut:
    """The raffle's published proof: entries, hashes, and after the draw the seed and the winners."""
    raffle = queries.by_code(code)
    if raffle is None:
        raise Problem(404, "There is no raffle with this code.", errors=[{"loc": "code", "msg": "unknown raffle"}])
    mark_public()
    return ProofOut(**queries.proof(raffle))
