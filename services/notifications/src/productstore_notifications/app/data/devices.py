"""Cassandra access to the users' Web Push subscriptions (push_subscriptions)."""

from __future__ import annotations

import uuid
from datetime import datetime

from productstore_common.cassandra import CassandraSession
from productstore_notifications.app.data.webpush import Subscription


class DeviceStore:
    def __init__(self, db: CassandraSession) -> None:
        self.db = db

    async def add(self, user_id: uuid.UUID, subscription: Subscription, at: datetime) -> None:
        """Adds or replaces (the same endpoint with new keys) one subscription."""
        await self.db.execute_async(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (user_id, subscription.endpoint, subscription.p256dh, subscription.auth, at),
        )

    async def of(self, user_id: uuid.UUID) -> list[Subscription]:
        page = await self.db.execute_async(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?", (user_id,)
        )
        return [Subscription(row.endpoint, row.p256dh, row.auth) for row in page.rows]

    async def remove(self, user_id: uuid.UUID, endpoint: str) -> bool:
        """Whether it was there (an LWT, so two removals never both say yes)."""
        page = await self.db.execute_async(
            "DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ? IF EXISTS",
            (user_id, endpoint),
        )
        return bool(page.was_applied)
