# ruff: noqa: RUF001 -- Russian test text is Cyrillic on purpose
"""Text analysis: normalization, words, stems by script, one-edit distance."""

from __future__ import annotations

import pytest

from productstore_catalog.search.analysis import (
    deletions,
    normalize,
    one_edit_apart,
    query_words,
    stem,
    words,
)
from tests.catalog.search.reference import edit_distance


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Crème Brûlée", "creme brulee"),
        ("CAFÉ", "cafe"),
        ("Ёлка", "елка"),
        ("ЧЁРНЫЙ чёрный", "черный черный"),
        ("Новый йогурт", "новый йогурт"),  # й stays й
        ("Straße", "strasse"),  # casefold, not lower
        ("ﬁne", "fine"),  # compatibility ligature
        ("Smartphone", "smartphone"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Running Shoe, 42 (blue)!", ["running", "shoe", "42", "blue"]),
        ("Смартфон Galaxy S24: OLED-экран", ["смартфон", "galaxy", "s24", "oled", "экран"]),
        ("  ", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("forms", "same"),
    [
        (["смартфоны", "смартфон", "смартфона", "смартфонами"], True),
        (["running", "run", "runs"], True),
        (["shoes", "shoe"], True),
        (["новый", "новая", "новые"], True),
        (["новый", "новыи"], False),  # why й must survive normalization
        (["кофе", "coffee"], False),
    ],
)
def test_stems_by_script(forms: list[str], same: bool) -> None:
    assert (len({stem(f) for f in forms}) == 1) is same


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("running shoes for men", ["running", "shoes", "men"]),
        ("кроссовки для бега", ["кроссовки", "бега"]),
        ("the", ["the"]),  # only stopwords: keep them
        ("shoe Shoe SHOE", ["shoe"]),
        ("", []),
    ],
)
def test_query_words(q: str, expected: list[str]) -> None:
    assert query_words(q) == expected


PAIRS = [
    ("smartphone", "smartphone"),
    ("smartphone", "smartphnoe"),
    ("smartphone", "smartpone"),
    ("smartphone", "smarttphone"),
    ("smartphone", "smartphine"),
    ("smartphone", "smrtphne"),
    ("smartphone", "phone"),
    ("ab", "ba"),
    ("abc", "acb"),
    ("abc", "bca"),
    ("", "a"),
    ("a", ""),
    ("ноутбук", "ноутбкук"),
    ("abcd", "abdc"),
    ("abcd", "badc"),
]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_one_edit_apart_agrees_with_the_full_edit_distance(a: str, b: str) -> None:
    assert one_edit_apart(a, b) is (edit_distance(a, b) <= 1)
    assert one_edit_apart(b, a) is one_edit_apart(a, b)


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_one_edit_apart_words_share_a_deletion_variant(a: str, b: str) -> None:
    """Why the deletion neighbourhood finds every candidate the index then checks."""
    if one_edit_apart(a, b) and a != b:
        assert (deletions(a) | {a}) & (deletions(b) | {b})
