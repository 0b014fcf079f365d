"""Price-drop and back-in-stock notices: find everyone a product concerns, tell each
once a day (docs/adr/0023).

The audience of a product is the owner of every list holding it and, while a list
is shared, its followers; a user on several of those lists counts once. Each user
is claimed with a lightweight transaction on (product, user, day, kind) before a
notice is written to the outbox, so two events of one day (two price drops, a
redelivery, two replicas) tell nobody twice. A notice's id is derived from the
same key: if a crash makes an event's fan-out run again, the notices it publishes
again carry the same ids and the notifications service drops the copies.

Back in stock goes out in waves: a wave tells at most as many new users as units
are available (inventory's newest count), the next wave waits
`restock_wave_interval_seconds` and is sized by what is still available then, and
the return ends when everyone was told (or the stock is gone: waves pause at 0).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from productstore_common.events import CloudEvent, new_event
from productstore_contracts.events.catalog import PriceChanged
from productstore_contracts.events.inventory import BackInStock
from productstore_contracts.events.wishlist import (
    WISHLIST_SOURCE,
    Audience,
    WishlistBackInStock,
    WishlistPriceDropped,
)
from productstore_wishlist.app.data.notices import NoticeStore, Wave
from productstore_wishlist.app.data.wishlists import Holder, WishlistStore
from productstore_wishlist.app.services.metrics import WishlistMetrics

_logger = logging.getLogger(__name__)

PRICE_DROP = "price_drop"
BACK_IN_STOCK = "back_in_stock"
# Lists read per page of a product's index.
_PAGE = 1000
_NOTICE_IDS = uuid.UUID("6c1f3b8e-3f57-4a47-9f0e-7d0f1a6a0d23")

T = TypeVar("T")


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    wishlist_id: uuid.UUID
    audience: Audience


def notice_id(kind: str, product_id: uuid.UUID, user_id: uuid.UUID, day: date) -> uuid.UUID:
    """The id of the one notice of `kind` a user may get about a product on `day`."""
    return uuid.uuid5(_NOTICE_IDS, f"{kind}/{product_id}/{user_id}/{day.isoformat()}")


def wave_cause(run: uuid.UUID, wave: int) -> uuid.UUID:
    """The cause a wave's claims name: one return (`run`) and its wave."""
    return uuid.uuid5(run, f"wave/{wave}")


def is_drop(data: PriceChanged) -> bool:
    """A lower price in the same currency (a currency change compares nothing)."""
    same_currency = data.old_currency is None or data.old_currency == data.currency
    return same_currency and data.new_price < data.old_price


class Notices:
    def __init__(
        self,
        lists: WishlistStore,
        store: NoticeStore,
        metrics: WishlistMetrics,
        *,
        concurrency: int,
        batch: int,
        wave_interval: float,
    ) -> None:
        self.lists = lists
        self.store = store
        self.metrics = metrics
        self.concurrency = concurrency
        self.batch = batch
        self.wave_interval = timedelta(seconds=wave_interval)
        self._limit = asyncio.Semaphore(concurrency)

    async def _bounded(self, calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        async def run(call: Callable[[], Awaitable[T]]) -> T:
            async with self._limit:
                return await call()

        return list(await asyncio.gather(*(run(call) for call in calls)))

    # --- the audience ---------------------------------------------------
    async def _followers(self, holder: Holder) -> list[uuid.UUID]:
        followers = await self.lists.followers(holder.wishlist_id)
        if not followers:
            return []
        row = await self.lists.get(holder.wishlist_id)
        # Followers hear while the list is shared: a revoked link tells them nothing.
        return followers if row is not None and row.share_token is not None else []

    async def audience(self, product_id: uuid.UUID) -> AsyncIterator[list[Recipient]]:
        """Everyone the product concerns, a page of lists at a time, each user once."""
        seen: set[uuid.UUID] = set()
        async for holders in self.lists.holders(product_id, _PAGE):
            followers = await self._bounded(
                [lambda h=holder: self._followers(h) for holder in holders]  # type: ignore[misc]
            )
            found: list[Recipient] = []
            for holder in holders:
                if holder.owner_id not in seen:
                    seen.add(holder.owner_id)
                    found.append(Recipient(holder.owner_id, holder.wishlist_id, "owner"))
            for holder, users in zip(holders, followers, strict=True):
                for user in users:
                    if user not in seen:
                        seen.add(user)
                        found.append(Recipient(user, holder.wishlist_id, "follower"))
            yield found

    # --- claims and publishing --------------------------------------------
    async def _claim(
        self,
        recipients: Sequence[Recipient],
        product_id: uuid.UUID,
        day: date,
        kind: str,
        cause: uuid.UUID,
    ) -> list[Recipient]:
        won = await self._bounded(
            [
                lambda r=r: self.store.claim(product_id, r.user_id, day, kind, cause)  # type: ignore[misc]
                for r in recipients
            ]
        )
        claimed = [r for r, ok in zip(recipients, won, strict=True) if ok]
        self.metrics.suppressed.labels(kind).inc(len(recipients) - len(claimed))
        return claimed

    async def _publish(self, events: list[CloudEvent[Any]], kind: str) -> None:
        chunks = [events[i : i + self.batch] for i in range(0, len(events), self.batch)]
        await self._bounded([lambda c=chunk: self.store.publish(c) for chunk in chunks])  # type: ignore[misc]
        self.metrics.notices.labels(kind).inc(len(events))

    # --- price drops --------------------------------------------------------
    async def price_changed(self, event_id: uuid.UUID, at: datetime, data: PriceChanged) -> int:
        """Tell the product's audience about a drop; the number of notices written."""
        if not is_drop(data):
            return 0
        started = time.monotonic()
        day = at.astimezone(UTC).date()
        sent = 0
        async for recipients in self.audience(data.product_id):
            claimed = await self._claim(recipients, data.product_id, day, PRICE_DROP, event_id)
            events: list[CloudEvent[Any]] = [
                new_event(
                    WishlistPriceDropped(
                        user_id=r.user_id,
                        product_id=data.product_id,
                        wishlist_id=r.wishlist_id,
                        audience=r.audience,
                        day=day,
                        old_price=data.old_price,
                        new_price=data.new_price,
                        currency=data.currency,
                    ),
                    source=WISHLIST_SOURCE,
                    subject=str(r.user_id),
                    id=notice_id(PRICE_DROP, data.product_id, r.user_id, day),
                )
                for r in claimed
            ]
            await self._publish(events, PRICE_DROP)
            sent += len(events)
        self.metrics.fanout_seconds.labels(PRICE_DROP).observe(time.monotonic() - started)
        return sent

    # --- back in stock ------------------------------------------------------
    async def back_in_stock(self, at: datetime, data: BackInStock) -> int:
        """A return to stock opens waves (or restarts them on a later day); the first
        wave goes at once. The number of notices written."""
        day = at.astimezone(UTC).date()
        now = datetime.now(UTC)
        if not await self.store.open_wave(data.product_id, day, data.available, data.version, now):
            found = await self.store.wave(data.product_id)
            if found is not None and found.stock_version < data.version:
                if found.day != day:
                    await self.store.restart_wave(found, day, data.available, data.version, now)
                else:
                    await self.store.update_stock(data.product_id, data.available, data.version)
        return await self.next_wave(data.product_id)

    async def stock_changed(self, product_id: uuid.UUID, available: int, version: int) -> int:
        """Newer stock of a product whose waves are under way; a due wave goes."""
        # A plain read first: StockChanged comes with every reservation of every
        # product, and a lightweight transaction on a row that is not there is still
        # a Paxos round.
        found = await self.store.wave(product_id)
        if found is None or found.stock_version >= version:
            return 0
        if not await self.store.update_stock(product_id, available, version):
            return 0
        return await self.next_wave(product_id)

    async def next_wave(self, product_id: uuid.UUID) -> int:
        """Send the product's next wave if one is due (one replica sends it)."""
        found = await self.store.wave(product_id)
        now = datetime.now(UTC)
        if found is None or found.available <= 0 or found.next_wave_at > now:
            return 0
        if not await self.store.take_wave(found, now + self.wave_interval):
            return 0
        started = time.monotonic()
        sent, exhausted = await self._wave(found)
        if exhausted:
            await self.store.end_wave(product_id, found.wave + 1)
        self.metrics.fanout_seconds.labels(BACK_IN_STOCK).observe(time.monotonic() - started)
        _logger.info(
            "back-in-stock wave sent",
            extra={"product_id": str(product_id), "wave": found.wave + 1, "notices": sent},
        )
        return sent

    async def _wave(self, found: Wave) -> tuple[int, bool]:
        """Tell up to `available` users not yet told of this return; whether none is left."""
        wave = found.wave + 1
        cause = wave_cause(found.run, wave)
        budget = found.available
        sent = 0
        async for recipients in self.audience(found.product_id):
            queue = list(recipients)
            while queue:
                if sent >= budget:
                    return sent, False
                # Never more claims in flight than units left: a wave cannot overshoot.
                take, queue = queue[: budget - sent], queue[budget - sent :]
                claimed = await self._claim(take, found.product_id, found.day, BACK_IN_STOCK, cause)
                events: list[CloudEvent[Any]] = [
                    new_event(
                        WishlistBackInStock(
                            user_id=r.user_id,
                            product_id=found.product_id,
                            wishlist_id=r.wishlist_id,
                            audience=r.audience,
                            day=found.day,
                            available=found.available,
                            wave=wave,
                        ),
                        source=WISHLIST_SOURCE,
                        subject=str(r.user_id),
                        id=notice_id(BACK_IN_STOCK, found.product_id, r.user_id, found.day),
                    )
                    for r in claimed
                ]
                await self._publish(events, BACK_IN_STOCK)
                sent += len(events)
        return sent, True

    async def due_waves(self) -> int:
        """Send every due wave (the periodic check); the number of notices written."""
        sent = 0
        for product_id in await self.store.open_waves():
            sent += await self.next_wave(product_id)
        return sent
