"""BM25F relevance: name and description as weighted fields of one document.

Every query word must match (AND). A word matches a product exactly when the
product has a word with the same stem, otherwise by typo when the product has a
word one edit away (query words of TYPO_MIN_LENGTH letters or more). The score is

    exact_words + S / (1 + S),   S = sum over query words of BM25F(word)

so a product matching more query words exactly always ranks above one relying on
more typos (S / (1 + S) < 1), and within that, BM25F decides; typo contributions
are also weighted down by TYPO_WEIGHT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from productstore_catalog.search.cursor import CorpusStats

K1 = 1.2
B = 0.75
NAME_WEIGHT = 3.0
DESCRIPTION_WEIGHT = 1.0
TYPO_WEIGHT = 0.5

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Occurrences:
    """Where some words occur, as arrays over all slots."""

    found: BoolArray  # live slots holding any of the words
    name_tf: FloatArray
    description_tf: FloatArray


@dataclass(frozen=True, slots=True)
class WordMatch:
    """How one query word matches: by stem, and by typo (None when no word is one edit away)."""

    exact: Occurrences
    typo: Occurrences | None

    def any(self) -> BoolArray:
        if self.typo is None:
            return self.exact.found
        result: BoolArray = self.exact.found | self.typo.found
        return result

    def frequencies(self) -> tuple[int, int]:
        """(live slots matching exactly, live slots holding a typo word)."""
        typo = 0 if self.typo is None else int(np.count_nonzero(self.typo.found))
        return int(np.count_nonzero(self.exact.found)), typo


def idf(documents: int, document_frequency: int) -> float:
    return math.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


def saturation(
    name_tf: FloatArray,
    description_tf: FloatArray,
    name_length: FloatArray,
    description_length: FloatArray,
    stats: CorpusStats,
) -> FloatArray:
    """BM25F's tf part: field frequencies normalized by field length, weighted, saturated."""
    weighted = NAME_WEIGHT * name_tf / (
        1.0 - B + B * name_length / stats.mean_name_length
    ) + DESCRIPTION_WEIGHT * description_tf / (
        1.0 - B + B * description_length / stats.mean_description_length
    )
    result: FloatArray = weighted / (K1 + weighted)
    return result


def scores(
    candidates: npt.NDArray[np.int64],
    matches: list[WordMatch],
    name_length: FloatArray,
    description_length: FloatArray,
    stats: CorpusStats,
) -> FloatArray:
    """The relevance score of each candidate slot (all candidates match every word)."""
    lengths = name_length[candidates], description_length[candidates]
    exact_words = np.zeros(len(candidates))
    total = np.zeros(len(candidates))
    for match, (exact_df, typo_df) in zip(matches, stats.document_frequencies, strict=True):
        exact = match.exact.found[candidates]
        exact_part = idf(stats.documents, exact_df) * saturation(
            match.exact.name_tf[candidates],
            match.exact.description_tf[candidates],
            *lengths,
            stats,
        )
        exact_words += exact
        if match.typo is None:
            total += exact_part
            continue
        typo_part = (TYPO_WEIGHT * idf(stats.documents, typo_df)) * saturation(
            match.typo.name_tf[candidates], match.typo.description_tf[candidates], *lengths, stats
        )
        total += np.where(exact, exact_part, typo_part)
    result: FloatArray = exact_words + total / (1.0 + total)
    return result
