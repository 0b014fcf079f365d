"""A review's moderation outcome (ReviewModerated through Kafka) reaches its author once,
by e-mail and in the inbox, in the author's language, naming the product as the catalog
does; a redelivered outcome sends nothing more."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.kafka import Kafka
from productstore_common.kit.container import container_of
from productstore_contracts.events.reviews import ReviewModerated
from productstore_notifications.app.services.notifier import Notifier
from tests.notifications.chat import Product
from tests.notifications.support import (
    Backing,
    MailpitReader,
    User,
    inbox_with,
    send_review_outcomes,
)
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio


def _moderated(user: User, product_id: uuid.UUID, outcome: str, **more: object) -> ReviewModerated:
    return ReviewModerated.model_validate(
        {
            "review_id": uuid.uuid4(),
            "product_id": product_id,
            "version": 1,
            "user_id": user.id,
            "outcome": outcome,
            **more,
        }
    )


async def test_an_automatic_rejection_reaches_a_russian_author_once(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
    product: Product,
) -> None:
    user = user_factory()
    put = await client.put(
        "/api/notifications/preferences", json={"locale": "ru"}, headers=bearer(user.token)
    )
    assert put.status_code == 200, put.text
    rejected = _moderated(
        user, product.id, "rejected", decided_by="automatic", reasons=["profanity"]
    )
    [event] = await send_review_outcomes(kafka, backing.reviews_topic, [(rejected, None)])
    await send_review_outcomes(kafka, backing.reviews_topic, [(rejected, event.id)])
    [message] = await mail.wait_for(user.email)
    assert message["Subject"] == "Ваш отзыв не опубликован"
    assert f"товаре «{product.name}» не опубликован (нецензурная лексика)" in message["Text"]
    # Transactional: no unsubscribe link, the preferences say how to stop these.
    assert "Отписаться" not in message["Text"]
    [item] = await inbox_with(client, user)
    assert item["topic"] == "review_rejected"
    store = container_of(app).get(Notifier).store
    for channel in ("email", "inapp"):
        assert await store.claim_status(event.id, str(user.id), channel) == "sent"
    await asyncio.sleep(0.5)
    assert len(mail.messages_to(user.email)) == 1


async def test_a_moderators_approval_reaches_the_author_in_english(  # noqa: PLR0917 (fixtures)
    app: FastAPI,
    client: httpx.AsyncClient,
    kafka: Kafka,
    backing: Backing,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    missing = uuid.uuid4()  # a product the catalog does not have: its reference
    approved = _moderated(user, missing, "approved", decided_by="moderator")
    await send_review_outcomes(kafka, backing.reviews_topic, [(approved, None)])
    [message] = await mail.wait_for(user.email)
    assert message["Subject"] == "Your review is published"
    assert f"your review of product {str(missing)[:8].upper()}" in message["Text"]
    [item] = await inbox_with(client, user)
    assert item["topic"] == "review_approved"
    assert container_of(app).get(Notifier) is not None
