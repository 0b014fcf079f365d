"""Text analysis shared by indexing and querying: normalize, split, stem.

Words are casefolded, stripped of diacritics (NFKD, combining marks dropped;
"yo" U+0451 becomes "ye" U+0435, but "short i" U+0439 stays a letter of its
own because Russian stemming needs it), then stemmed by script: Cyrillic
words with the Russian Snowball stemmer, everything else with the English one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# Typo tolerance applies to query words at least this long; shorter words are
# too ambiguous for even one edit ("shoe" ~ "show", "кот" ~ "кит").
TYPO_MIN_LENGTH = 5

_WORD = re.compile(r"\w+")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# NFKD would turn "й" into "и" + breve; keep it by hiding it behind a private-use code point.
_SHORT_I, _PLACEHOLDER = "\u0439", "\ue000"

_RUSSIAN = Stemmer.Stemmer("russian")
_ENGLISH = Stemmer.Stemmer("english")

# Words a query may leave unmatched: "shoes for running" still finds "Running shoe".
_ENGLISH_STOPWORDS = "a an and or the for of in on at to with by from is are"
_RUSSIAN_STOPWORDS = "и или в во на с со для из по к ко у о об от до за а"  # noqa: RUF001
STOPWORDS = frozenset(_ENGLISH_STOPWORDS.split()) | frozenset(_RUSSIAN_STOPWORDS.split())


def normalize(text: str) -> str:
    """Casefold and strip diacritics; "Crème Brûlée" -> "creme brulee", "Ёлка" -> "елка"."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    folded = folded.replace(_SHORT_I, _PLACEHOLDER)
    stripped = _COMBINING.sub("", unicodedata.normalize("NFKD", folded))
    return stripped.replace(_PLACEHOLDER, _SHORT_I)


def words(text: str) -> list[str]:
    """The normalized words of a text, in order."""
    return _WORD.findall(normalize(text))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of one normalized word, by script."""
    stemmer = _RUSSIAN if _CYRILLIC.search(word) else _ENGLISH
    result: str = stemmer.stemWord(word)
    return result


def query_words(text: str) -> list[str]:
    """The distinct words a query requires, in order; stopwords only if nothing else is left."""
    distinct = list(dict.fromkeys(words(text)))
    meaningful = [w for w in distinct if w not in STOPWORDS]
    return meaningful or distinct


def one_edit_apart(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion, substitution or
    transposition of two neighbouring letters (optimal string alignment distance <= 1)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        # substitution at i, or a transposition of i and i + 1
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]  # b has one extra letter at i


def deletions(word: str) -> set[str]:
    """The word with each one letter removed (the deletion neighbourhood of distance 1)."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
