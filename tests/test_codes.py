"""Public codes and slugs."""

from __future__ import annotations

import random

from companion.codes import CODE_ALPHABET, code_number, new_code, slugify, unique_slug


def test_codes_avoid_look_alike_characters_and_taken_ones():
    rng = random.Random(1)
    taken = {new_code(random.Random(1), set())}

    code = new_code(rng, taken)

    assert code not in taken and len(code) == 6
    assert set(code) <= set(CODE_ALPHABET) and not set("01ILO") & set(CODE_ALPHABET)


def test_code_numbers_are_distinct_positive_and_fit_an_int32():
    assert [code_number(c) for c in ("AAAAAA", "AAAAAB", "AAAAAC")] == [1, 2, 3]
    assert code_number("999999") == len(CODE_ALPHABET) ** 6 < 2**31


def test_unique_slug_stays_within_its_length_with_a_suffix():
    long_name = "Room " + "x" * 200
    first = unique_slug(long_name, set())
    second = unique_slug(long_name, {first})

    assert (len(first), len(second)) == (120, 120)
    assert second.endswith("-2") and second != first
    assert slugify("Founders Café") == "founders-cafe"
