"""``sha256-counter-v1``: the documented, deterministic way winners follow from a seed and a list.

Pure functions of bytes and strings, no database: the draw, the proof check and
``companion raffle verify`` all run this, and the README shows the same steps in twenty lines.

For k = 0, 1, 2, ...: h = SHA-256(seed ‖ list_hash ‖ k as 8 bytes, big-endian); x = h read as a
256-bit big-endian integer; x ≥ n·⌊2^256 / n⌋ is rejected (so every index is equally likely);
otherwise index = x mod n into the sorted entries. An entry already drawn or excluded is skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence

ALGORITHM = "sha256-counter-v1"
SEED_BYTES = 32
_SPACE = 1 << 256


def list_hash(entries: Sequence[str]) -> str:
    """Hex SHA-256 of the entries joined with "\\n" (UTF-8): what the freeze publishes."""
    return hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()


def commitment(seed: bytes) -> str:
    """Hex SHA-256 of the seed: published at the freeze, the seed itself only at the draw."""
    return hashlib.sha256(seed).hexdigest()


def sequence(seed: bytes, list_digest: bytes, n: int, *, start: int = 0) -> Iterator[tuple[int, int]]:
    """(k, index) for every accepted k from ``start`` on (rejected ks are left out). Endless."""
    if n < 1:
        return
    limit = n * (_SPACE // n)
    k = start
    while True:
        x = int.from_bytes(hashlib.sha256(seed + list_digest + k.to_bytes(8, "big")).digest(), "big")
        if x < limit:
            yield k, x % n
        k += 1


def draw(seed: bytes, entries: Sequence[str], count: int, *, skip: Collection[str] = (),
         start: int = 0) -> list[tuple[int, str]]:
    """The next ``count`` winners as (k, entry), from position ``start`` of the sequence.

    ``entries`` must be sorted (the published order); entries in ``skip`` (drawn before, or
    excluded) are passed over. Fewer than ``count`` when the pool runs out.
    """
    available = len(set(entries) - set(skip))
    wanted = min(count, available)
    winners: list[tuple[int, str]] = []
    taken = set(skip)
    digest = bytes.fromhex(list_hash(entries))
    for k, index in sequence(seed, digest, len(entries), start=start):
        if len(winners) == wanted:
            break
        entry = entries[index]
        if entry not in taken:
            taken.add(entry)
            winners.append((k, entry))
    return winners
