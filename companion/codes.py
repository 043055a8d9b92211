"""Short public codes (session, speaker, ...) and URL slugs.

Codes use an alphabet without look-alike characters (no 0/O, 1/I/L), so a code read aloud or
copied from a screen survives. Randomness is a parameter, so tests are reproducible.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Container

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(rng: random.Random, taken: Container[str], length: int = 6) -> str:
    """A random code of ``length`` characters that is not in ``taken``."""
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(length))
        if code not in taken:
            return code


def code_number(code: str) -> int:
    """The positive integer a code stands for (its digits in the code alphabet, plus one).

    Formats that want integer ids (c3voc, frab) get this instead of a database id: unique like
    the code, and it publishes nothing about how many rows there are.
    """
    number = 0
    for character in code:
        number = number * len(CODE_ALPHABET) + CODE_ALPHABET.index(character)
    return number + 1


def slugify(text: str, fallback: str = "item") -> str:
    """A lowercase ASCII slug of ``text`` (``"Founders Café" -> "founders-cafe"``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or fallback


def unique_slug(text: str, taken: Container[str], fallback: str = "item", max_length: int = 120) -> str:
    """:func:`slugify` ``text``, adding ``-2``, ``-3`` ... until it is not in ``taken``; never
    longer than ``max_length`` (the base is shortened to make room for the suffix)."""
    base = slugify(text, fallback)[:max_length].rstrip("-") or fallback
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)].rstrip("-") + suffix
    return slug
