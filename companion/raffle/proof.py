"""Checking a published proof: the steps anyone can redo, each mismatch named.

Independent of the database: ``companion raffle verify`` runs it on a proof from the API or a
file. The README shows the same check in twenty lines of standard-library Python.
"""

from __future__ import annotations

import hashlib
from typing import Any

from companion.raffle import algorithm


def problems(proof: dict[str, Any]) -> list[str]:
    """What does not hold in ``proof``, first mismatch first (an empty list: the draw checks out).

    Checks: the algorithm's name; the entries sorted and unique; ``list_hash``; ``commitment`` =
    SHA-256(seed); each winner, in k order, is the next entry the sequence gives (skipping
    rejected ks, entries drawn before and excluded entries), at the same k.
    """
    if proof.get("algorithm") != algorithm.ALGORITHM:
        return [f"algorithm: expected {algorithm.ALGORITHM}, the proof says {proof.get('algorithm')!r}"]
    entries = proof.get("entries")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return ["entries: not a list of entry codes"]
    if entries != sorted(entries) or len(set(entries)) != len(entries):
        return ["entries: not sorted, or an entry appears twice"]
    if proof.get("list_hash") is None:
        return ["list_hash: not published yet (the entries are not frozen)"]
    digest = algorithm.list_hash(entries)
    if proof.get("list_hash") != digest:
        return [f"list_hash: the entries hash to {digest}, the proof says {proof.get('list_hash')}"]
    seed_hex = proof.get("seed")
    if seed_hex is None:
        return ["seed: not revealed yet (the raffle has not been drawn)"]
    try:
        seed = bytes.fromhex(seed_hex)
    except (TypeError, ValueError):
        return [f"seed: not hexadecimal: {seed_hex!r}"]
    if hashlib.sha256(seed).hexdigest() != proof.get("commitment"):
        return [f"commitment: SHA-256 of the seed is {hashlib.sha256(seed).hexdigest()}, "
                f"the proof says {proof.get('commitment')}"]
    claimed_all = proof.get("winners") or []
    holding = sum(1 for w in claimed_all if w.get("status") in ("drawn", "claimed"))
    wanted = proof.get("winners_wanted")
    if isinstance(wanted, int) and holding > wanted:
        return [f"winners: {holding} hold a prize, but the raffle has {wanted}"]
    excluded = set(proof.get("excluded") or [])
    if not excluded <= set(entries):
        return [f"excluded: {sorted(excluded - set(entries))[0]} is not an entry"]
    claimed = sorted(proof.get("winners") or [], key=lambda w: w.get("k", -1))
    expected = algorithm.draw(seed, entries, len(claimed), skip=excluded)
    for position, winner in enumerate(claimed):
        if position >= len(expected):
            return [f"winners[{position}]: {winner.get('entry')} at k={winner.get('k')}, but the sequence has "
                    "no entry left to draw"]
        k, entry = expected[position]
        if (winner.get("k"), winner.get("entry")) != (k, entry):
            return [f"winners[{position}]: the sequence gives {entry} at k={k}, the proof says "
                    f"{winner.get('entry')} at k={winner.get('k')}"]
    return []
