"""Moderation and sentiment on the labelled set (tests/reviews/data/labelled_reviews.tsv):
accuracy per task must stay at or above its floor. The floors are what the current
code reaches, less a little; raise them when the classifier gets better, never lower
them to pass a change. The set was written by the engineers who wrote the rules, so
the moderation number is an upper bound of what unseen text gets (README)."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from productstore_reviews.moderation import Moderator

DATA = Path(__file__).parents[1] / "data" / "labelled_reviews.tsv"

# Measured: sentiment 0.93, decision 1.00, language 1.00 on 205 reviews (110 ru, 91 en,
# 4 other); the "other" reviews are scored neutral, so count against sentiment.
FLOORS = {"sentiment": 0.91, "decision": 0.97, "language": 0.97}
LANGUAGE_FLOORS = {"ru": {"sentiment": 0.88}, "en": {"sentiment": 0.88}}


@dataclass(frozen=True)
class Labelled:
    language: str
    rating: int
    sentiment: str
    decision: str
    text: str


def labelled() -> list[Labelled]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(
            (line for line in handle if not line.startswith("#")),
            delimiter="\t",
            quoting=csv.QUOTE_NONE,
        )
        return [
            Labelled(
                language=row["language"],
                rating=int(row["rating"]),
                sentiment=row["sentiment"],
                decision=row["decision"],
                text=row["text"],
            )
            for row in rows
        ]


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator()


def test_the_set_is_large_and_mixed() -> None:
    reviews = labelled()
    languages = Counter(review.language for review in reviews)
    decisions = Counter(review.decision for review in reviews)
    assert len(reviews) >= 200
    assert languages["ru"] >= 100 and languages["en"] >= 80
    assert decisions.keys() == {"publish", "queue", "reject"}
    assert {review.sentiment for review in reviews} == {"positive", "negative", "neutral"}


def test_accuracy_meets_the_floors(moderator: Moderator) -> None:
    reviews = labelled()
    right: Counter[str] = Counter()
    per_language: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for review in reviews:
        verdict = moderator.classify("", review.text, review.rating)
        found = {
            "sentiment": verdict.sentiment_label == review.sentiment,
            "decision": verdict.decision.value == review.decision,
            "language": verdict.language == review.language,
        }
        for task, ok in found.items():
            right[task] += ok
            per_language[(review.language, task)] += ok
        if not found["decision"]:
            misses.append(f"{review.text!r}: {verdict.decision} {verdict.reasons}")
    accuracy = {task: right[task] / len(reviews) for task in FLOORS}
    for task, floor in FLOORS.items():
        assert accuracy[task] >= floor, (task, accuracy, misses)
    for language, floors in LANGUAGE_FLOORS.items():
        count = sum(review.language == language for review in reviews)
        for task, floor in floors.items():
            assert per_language[(language, task)] / count >= floor, (language, task)


@pytest.mark.parametrize(
    ("text", "rating", "decision", "reason"),
    [
        ("f.u.c.k this", 1, "reject", "profanity"),
        ("Полная xуйня", 1, "reject", "profanity"),  # a Latin x in a Cyrillic word
        ("Хуже не бывает, вернула", 1, "publish", None),
        ("Great, see www.example.com", 5, "queue", "link"),
        ("Promo code SAVE at www.example.com", 5, "reject", "spam"),
        ("Отличный товар, но ужасная упаковка и всё сломалось", 5, "queue", "rating_mismatch"),
        ("Ein sehr gutes Produkt, ich bin zufrieden", 5, "queue", "language"),
    ],
)
def test_rules(
    moderator: Moderator, text: str, rating: int, decision: str, reason: str | None
) -> None:
    verdict = moderator.classify("", text, rating)
    assert verdict.decision.value == decision, verdict
    if reason is not None:
        assert reason in verdict.reasons
    else:
        assert verdict.reasons == ()


def test_russian_negation_and_contrast(moderator: Moderator) -> None:
    assert moderator.sentiment("Не понравилось", "ru") < 0
    assert moderator.sentiment("Совсем не плохо", "ru") > 0
    # After "но" the words weigh more than before it.
    assert moderator.sentiment("Красивый, но сломался через день", "ru") < 0
