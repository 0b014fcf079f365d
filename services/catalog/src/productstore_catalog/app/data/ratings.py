"""What the reviews service last said about each review (`product_ratings`).

Each ReviewPublished / ReviewRemoved is written `USING TIMESTAMP <review version>`:
Cassandra keeps the newest state per review whatever order the events arrive in,
with no read before the write. A product's rating is the mean and count of its
published rows, computed on read, so it matches the published reviews however the
events were delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from productstore_common.cassandra import CassandraSession

_RECORD = (
    "INSERT INTO product_ratings (product_id, review_id, rating, published) "
    "VALUES (?, ?, ?, ?) USING TIMESTAMP ?"
)
_READ = "SELECT rating, published FROM product_ratings WHERE product_id = ?"
_PAGE = 5000


@dataclass(frozen=True)
class ReviewState:
    product_id: uuid.UUID
    review_id: uuid.UUID
    rating: int | None  # None when removed
    published: bool
    version: int


@dataclass(frozen=True)
class Rating:
    average: float | None  # None when no review is published
    count: int


class RatingStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def record(self, state: ReviewState) -> None:
        """Keep `state` unless a newer version of the review is held."""
        await self.db.execute_async(
            _RECORD,
            (state.product_id, state.review_id, state.rating, state.published, state.version),
        )

    async def rating(self, product_id: uuid.UUID) -> Rating:
        """The mean (2 decimals) and count of the product's published reviews."""
        total = count = 0
        paging_state: bytes | None = None
        while True:
            page = await self.db.execute_async(
                _READ, (product_id,), fetch_size=_PAGE, paging_state=paging_state
            )
            for row in page.rows:
                if row.published and row.rating is not None:
                    total += row.rating
                    count += 1
            paging_state = page.paging_state
            if paging_state is None:
                break
        return Rating(average=round(total / count, 2) if count else None, count=count)
