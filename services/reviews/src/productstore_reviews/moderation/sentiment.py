"""Sentiment of a review in [-1, 1]: VADER for English, our lexicon for Russian.

The Russian scorer follows VADER's rules on a smaller scale: each known lemma adds
its valence; a negation (не, нет, ни, без) just before one flips and damps it; an
intensifier (очень, совсем, ...) just before strengthens it (and a negated one,
"не очень хорошо", turns it mildly the other way);
after "но" / "однако" / "зато" the words count 1.5 times and the words before
half; exclamation marks push the sum further from zero. The sum is normalised as
VADER's compound is (x / sqrt(x² + 15)), so both languages share one scale and the
same thresholds (±0.05 neutral).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources
from typing import Final

import pymorphy3
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEUTRAL_BAND: Final = 0.05
_ALPHA: Final = 15.0
_NEGATIONS: Final = frozenset({"не", "нет", "ни", "без", "нельзя", "никак", "никогда"})
_INTENSIFIERS: Final = {
    "очень": 1.3,
    "крайне": 1.4,
    "совсем": 1.3,
    "абсолютно": 1.4,
    "полностью": 1.3,
    "просто": 1.15,
    "самый": 1.2,
    "невероятно": 1.4,
    "слишком": 1.2,
    "весьма": 1.2,
    "довольно": 0.85,
    "немного": 0.7,
    "слегка": 0.7,
    "чуть": 0.7,
}
_CONTRAST: Final = frozenset({"но", "однако", "зато"})
_TOKEN: Final = re.compile(r"[а-яё]+|[a-z]+|!", re.IGNORECASE)


def _load_lexicon() -> dict[str, float]:
    text = (
        resources.files("productstore_reviews.moderation")
        .joinpath("lexicons/ru_sentiment.tsv")
        .read_text(encoding="utf-8")
    )
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lemma, valence = line.split("\t")
        lexicon[lemma.replace("ё", "е")] = float(valence)
    return lexicon


def normalise(total: float) -> float:
    return total / math.sqrt(total * total + _ALPHA)


def label(score: float) -> str:
    """positive, negative or neutral, by VADER's ±0.05 band."""
    if score >= NEUTRAL_BAND:
        return "positive"
    if score <= -NEUTRAL_BAND:
        return "negative"
    return "neutral"


class RussianSentiment:
    def __init__(self) -> None:
        self.lexicon = _load_lexicon()
        self.morph = pymorphy3.MorphAnalyzer()
        self._lemma = lru_cache(maxsize=65536)(self._lemma_uncached)

    def _lemma_uncached(self, word: str) -> str:
        return str(self.morph.parse(word)[0].normal_form).replace("ё", "е")

    def score(self, text: str) -> float:
        tokens = [t.lower().replace("ё", "е") for t in _TOKEN.findall(text)]
        exclamations = tokens.count("!")
        words = [t for t in tokens if t != "!"]
        contrast = max((i for i, w in enumerate(words) if w in _CONTRAST), default=-1)
        total = 0.0
        for i, word in enumerate(words):
            valence = self.lexicon.get(word)
            if valence is None:
                valence = self.lexicon.get(self._lemma(word))
            if valence is None:
                continue
            previous = words[i - 1] if i > 0 else ""
            if previous in _NEGATIONS:
                valence *= -0.74
            elif previous in _INTENSIFIERS:
                # "не очень хорошо": the intensifier is negated with its word, and damped.
                if i > 1 and words[i - 2] in _NEGATIONS:
                    valence *= -0.5
                else:
                    valence *= _INTENSIFIERS[previous]
            if contrast >= 0:
                valence *= 0.5 if i < contrast else 1.5 if i > contrast else 1.0
            total += valence
        if total:
            total += math.copysign(min(exclamations, 4) * 0.292, total)
        return normalise(total)


class EnglishSentiment:
    def __init__(self) -> None:
        self.vader = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self.vader.polarity_scores(text)["compound"])
