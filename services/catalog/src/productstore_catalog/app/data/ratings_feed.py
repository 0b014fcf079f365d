"""The reviews service's events, consumed for the products' rating (see `feeds`)."""

from __future__ import annotations

from typing import Final

from productstore_common.events import EventRegistry
from productstore_contracts.events.reviews import REVIEW_EVENTS, ReviewPublished, ReviewRemoved

RATING_HANDLES: Final = (ReviewPublished.event_type, ReviewRemoved.event_type)


def ratings_registry() -> EventRegistry:
    """Every type of the reviews topic."""
    return EventRegistry(REVIEW_EVENTS)
