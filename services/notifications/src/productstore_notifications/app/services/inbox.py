"""What the routes do: the user's inbox and preferences, the admin's delivery log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from productstore_common.errors import problem
from productstore_notifications.app.data.store import NotificationStore, PreferencesRecord
from productstore_notifications.app.models import (
    DeliveriesPage,
    DeliveryPublic,
    InboxPage,
    NotificationPublic,
    OptOut,
    PreferencesPublic,
    PreferencesUpdate,
)


class UserNotifications:
    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    async def inbox(self, user_id: uuid.UUID, *, limit: int, unread_only: bool) -> InboxPage:
        records = await self.store.inbox(user_id, limit=limit, unread_only=unread_only)
        items = [
            NotificationPublic.model_validate(
                {
                    "id": r.notification_id,
                    "topic": r.topic,
                    "title": r.title,
                    "body": r.body,
                    "read": r.read,
                    "created_at": r.created_at,
                }
            )
            for r in records
        ]
        return InboxPage(items=items, unread=sum(not item.read for item in items))

    async def mark_read(self, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
        # Ids are time-based (version 1): any other UUID names no notification, and
        # Cassandra would refuse it as a timeuuid.
        if notification_id.version != 1 or not await self.store.mark_read(user_id, notification_id):
            raise problem(
                404,
                "notification_not_found",
                f"You have no notification {notification_id}.",
            )

    async def preferences(self, user_id: uuid.UUID) -> PreferencesPublic:
        return public_preferences(await self.store.preferences(user_id))

    async def put_preferences(
        self, user_id: uuid.UUID, body: PreferencesUpdate
    ) -> PreferencesPublic:
        before = await self.store.preferences(user_id)
        record = PreferencesRecord(
            locale=body.locale,
            phone=body.phone,
            opt_outs=frozenset(f"{o.topic}:{o.channel}" for o in body.opt_outs),
            updated_at=datetime.now(UTC),
            sms_opt_in=body.sms_opt_in,
            promotions=body.promotions,
            # Kept (the write does not touch it): a new phone is simply not equal to it.
            phone_verified=before.phone_verified,
        )
        await self.store.put_preferences(user_id, record)
        return public_preferences(record)


class DeliveryLog:
    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    async def list(self, *, limit: int, outcome: str | None, channel: str | None) -> DeliveriesPage:
        records = await self.store.deliveries(
            now=datetime.now(UTC), limit=limit, outcome=outcome, channel=channel
        )
        return DeliveriesPage(
            items=[DeliveryPublic.model_validate(r, from_attributes=True) for r in records]
        )


def public_preferences(record: PreferencesRecord) -> PreferencesPublic:
    opt_outs = []
    for pair in sorted(record.opt_outs):
        topic, _, channel = pair.partition(":")
        opt_outs.append(OptOut.model_validate({"topic": topic, "channel": channel}))
    return PreferencesPublic.model_validate(
        {
            "locale": record.locale,
            "phone": record.phone,
            "opt_outs": opt_outs,
            "updated_at": record.updated_at,
            "sms_opt_in": record.sms_opt_in,
            "promotions": record.promotions,
            "phone_verified": record.verified_phone is not None,
        }
    )
