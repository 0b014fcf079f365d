"""Postings per surface word, with the two ways a query word finds words:
by stem (exact) and by one edit (typo, through a deletion neighbourhood)."""

from __future__ import annotations

from array import array
from collections import Counter

import numpy as np
import numpy.typing as npt

from productstore_catalog.search.analysis import TYPO_MIN_LENGTH, deletions, one_edit_apart, stem

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Postings:
    """The slots holding one word and how often it occurs in their name and description.

    Append-only arrays (array.array grows in place, cheaply); slots of replaced or
    removed products stay until compaction and are masked out at query time.
    """

    __slots__ = ("description_tf", "name_tf", "slots")

    def __init__(self) -> None:
        self.slots = array("i")
        self.name_tf = array("H")
        self.description_tf = array("H")

    def add(self, slot: int, name_tf: int, description_tf: int) -> None:
        self.slots.append(slot)
        self.name_tf.append(min(name_tf, 0xFFFF))
        self.description_tf.append(min(description_tf, 0xFFFF))

    def keep(self, remap: IntArray, alive: npt.NDArray[np.bool_]) -> None:
        """Drop dead slots and renumber the rest (compaction)."""
        slots = np.array(self.slots, dtype=np.int64)
        kept = alive[slots]
        self.slots = array("i", remap[slots[kept]].astype(np.int32).tobytes())
        self.name_tf = array("H", np.array(self.name_tf, dtype=np.uint16)[kept].tobytes())
        self.description_tf = array(
            "H", np.array(self.description_tf, dtype=np.uint16)[kept].tobytes()
        )

    def __len__(self) -> int:
        return len(self.slots)


class Vocabulary:
    """Every word ever indexed (until compaction), by stem and by deletion variant."""

    def __init__(self) -> None:
        self.postings: dict[str, Postings] = {}
        self._by_stem: dict[str, set[str]] = {}
        # deletion variant (or the word itself) -> words; only words long enough to
        # be one edit away from a query word of TYPO_MIN_LENGTH letters
        self._by_deletion: dict[str, set[str]] = {}

    def add_document(self, slot: int, name_words: list[str], description_words: list[str]) -> None:
        name_counts, description_counts = Counter(name_words), Counter(description_words)
        for word in name_counts.keys() | description_counts.keys():
            postings = self.postings.get(word)
            if postings is None:
                postings = self.postings[word] = Postings()
                self._register(word)
            postings.add(slot, name_counts[word], description_counts[word])

    def _register(self, word: str) -> None:
        self._by_stem.setdefault(stem(word), set()).add(word)
        if len(word) >= TYPO_MIN_LENGTH - 1:
            for variant in deletions(word) | {word}:
                self._by_deletion.setdefault(variant, set()).add(word)

    def _unregister(self, word: str) -> None:
        word_stem = stem(word)
        self._by_stem[word_stem].discard(word)
        if not self._by_stem[word_stem]:
            del self._by_stem[word_stem]
        if len(word) >= TYPO_MIN_LENGTH - 1:
            for variant in deletions(word) | {word}:
                self._by_deletion[variant].discard(word)
                if not self._by_deletion[variant]:
                    del self._by_deletion[variant]

    def exact(self, query_word: str) -> list[str]:
        """Words sharing the query word's stem."""
        return sorted(self._by_stem.get(stem(query_word), ()))

    def typos(self, query_word: str) -> list[str]:
        """Words one edit away from a long enough query word, with another stem."""
        if len(query_word) < TYPO_MIN_LENGTH:
            return []
        query_stem = stem(query_word)
        found: set[str] = set()
        for variant in deletions(query_word) | {query_word}:
            found |= self._by_deletion.get(variant, set())
        return sorted(
            word for word in found if stem(word) != query_stem and one_edit_apart(query_word, word)
        )

    def compact(self, remap: IntArray, alive: npt.NDArray[np.bool_]) -> None:
        for word in list(self.postings):
            postings = self.postings[word]
            postings.keep(remap, alive)
            if not len(postings):
                del self.postings[word]
                self._unregister(word)

    def occurrences(self, word: str) -> tuple[IntArray, FloatArray, FloatArray]:
        """The slots holding the word (each once, ascending), with its frequency in
        name and description."""
        postings = self.postings[word]
        return (
            np.array(postings.slots, dtype=np.int64),
            np.array(postings.name_tf, dtype=np.float64),
            np.array(postings.description_tf, dtype=np.float64),
        )
