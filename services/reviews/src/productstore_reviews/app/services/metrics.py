"""Business metrics of the reviews service, named for the people who read them."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

from productstore_common.telemetry.metrics import AppMetrics


@dataclass(frozen=True)
class ReviewsMetrics:
    decisions: Counter
    reasons: Counter

    @classmethod
    def of(cls, metrics: AppMetrics) -> ReviewsMetrics:
        return cls(
            decisions=metrics.counter(
                "reviews_moderation_decisions_total",
                "Reviews classified on write or edit, by decision (publish, queue, reject) "
                "and language (ru, en, other).",
                ("decision", "language"),
            ),
            reasons=metrics.counter(
                "reviews_moderation_reasons_total",
                "Reasons the classifier gave for queueing or rejecting a review.",
                ("reason",),
            ),
        )
