"""A review's language, sentiment and moderation decision, with the reasons."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from productstore_reviews.moderation import rules
from productstore_reviews.moderation.sentiment import (
    EnglishSentiment,
    RussianSentiment,
    label,
)

# A review whose rating and words disagree this much waits for a moderator: a 5
# under "broke in a day, awful" is a mistake or a trick.
MISMATCH: Final = 0.5
# py3langid's probability above which Latin-script text is taken to be another
# language than English (short English texts score low, so no lower bound).
OTHER_LANGUAGE: Final = 0.9


class Decision(enum.StrEnum):
    publish = "publish"
    queue = "queue"
    reject = "reject"


# Reasons and what each decides; the strongest wins.
REJECT_REASONS: Final = frozenset({"profanity", "spam"})
QUEUE_REASONS: Final = frozenset(
    {
        "mild_profanity",
        "link",
        "contact",
        "promotion",
        "repetition",
        "shouting",
        "rating_mismatch",
        "language",
    }
)


@dataclass(frozen=True)
class Verdict:
    language: str  # "ru", "en" or "other"
    sentiment: float  # -1 .. 1
    sentiment_label: str  # positive, negative, neutral
    decision: Decision
    reasons: tuple[str, ...]


def _reasons(hits: rules.RuleHits) -> list[str]:
    reasons: list[str] = []
    if hits.obscene:
        reasons.append("profanity")
    elif hits.mild_profanity:
        reasons.append("mild_profanity")
    # Advertising with a way to reach the advertiser is spam; either alone may be a
    # customer naming a shop or a size chart, so a moderator looks.
    if hits.promotion and (hits.link or hits.contact):
        reasons.append("spam")
    else:
        reasons += [name for name in ("promotion", "link", "contact") if getattr(hits, name)]
    reasons += [name for name in ("repetition", "shouting") if getattr(hits, name)]
    return reasons


class Moderator:
    """Thread-safe once built (classifying reads the models, writes nothing shared but
    the lemma cache); building loads them (a few seconds: py3langid's)."""

    def __init__(self) -> None:
        self._languages = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._ru = RussianSentiment()
        self._en = EnglishSentiment()

    def language(self, text: str) -> str:
        letters = [c for c in text.lower() if c.isalpha()]
        if not letters:
            return "other"
        cyrillic = sum("а" <= c <= "я" or c == "ё" for c in letters)
        if cyrillic * 2 >= len(letters):
            return "ru"
        latin = sum("a" <= c <= "z" for c in letters)
        if latin * 2 < len(letters):
            return "other"
        found, probability = self._languages.classify(text)
        if found != "en" and probability >= OTHER_LANGUAGE:
            return "other"
        return "en"

    def sentiment(self, text: str, language: str) -> float:
        scorer = self._ru if language == "ru" else self._en
        return round(scorer.score(text), 4)

    def classify(self, title: str, body: str, rating: int) -> Verdict:
        text = f"{title}.\n{body}" if title else body
        language = self.language(text)
        score = self.sentiment(text, language)
        reasons = _reasons(rules.check(text))
        if language == "other":
            reasons.append("language")
        if (rating >= 4 and score <= -MISMATCH) or (rating <= 2 and score >= MISMATCH):
            reasons.append("rating_mismatch")
        if REJECT_REASONS.intersection(reasons):
            decision = Decision.reject
        elif reasons:
            decision = Decision.queue
        else:
            decision = Decision.publish
        return Verdict(
            language=language,
            sentiment=score,
            sentiment_label=label(score),
            decision=decision,
            reasons=tuple(reasons),
        )
