"""The reviews service's events, as the catalog takes them: each product's rating.

ReviewPublished counts a review with its rating (again after an edit: the newest
version wins), ReviewRemoved stops counting it. The product's `rating` (average,
count) is then brought to what its published reviews say, as any product write.
"""

from __future__ import annotations

from productstore_catalog.app.data.ratings import ReviewState
from productstore_catalog.app.services.catalog import Catalog
from productstore_common.events import CloudEvent, EventPayload
from productstore_contracts.events.reviews import ReviewPublished, ReviewRemoved


class RatingEvents:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def handle(self, event: CloudEvent[EventPayload]) -> None:
        """The ratings feed's handler; idempotent and order-safe."""
        data = event.data
        if isinstance(data, ReviewPublished):
            state = ReviewState(
                product_id=data.product_id,
                review_id=data.review_id,
                rating=data.rating,
                published=True,
                version=data.version,
            )
        elif isinstance(data, ReviewRemoved):
            state = ReviewState(
                product_id=data.product_id,
                review_id=data.review_id,
                rating=None,
                published=False,
                version=data.version,
            )
        else:
            return
        await self.catalog.record_review(state)
