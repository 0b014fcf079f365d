"""What the admin chat tests share: settings pointing at devstack's Slack and Telegram
stand-ins (a Telegram chat of the test's own), a product in devstack's catalog to be
named, and a reader of what the stand-ins received about one product."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from devstack.components.chat import ChatSandbox
from devstack.components.services import AuthService, CatalogService
from tests.support.gateway import admin_token

DEADLINE_SECONDS = 60.0


def chat_settings(chat: ChatSandbox, *, via: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Both chats, Slack first; `via` replaces the stand-ins' base URL (a relay)."""
    base = via or chat.url
    slack_path = chat.slack_url_file.read_text().strip().split("/services/", 1)[1]
    return {
        "chat_slack_webhook_url": SecretStr(f"{base}/services/{slack_path}"),
        "chat_telegram_bot_token": SecretStr(chat.telegram_token_file.read_text().strip()),
        # A chat of the test's own: Alertmanager's -1001 and other tests' stay apart.
        "chat_telegram_chat_id": -(10**12) - secrets.randbelow(10**9),
        "telegram_api_url": base,
        **overrides,
    }


@dataclass(frozen=True)
class Product:
    id: uuid.UUID
    name: str


@contextmanager
def catalog_product(
    catalog: CatalogService, auth: AuthService, gateway_url: str
) -> Iterator[Product]:
    """A product of the test's own in devstack's catalog, deleted after."""
    admin = {"Authorization": f"Bearer {admin_token(auth, gateway_url)}"}
    slug = f"notify-{uuid.uuid4().hex[:8]}"
    name = f"Kettle {slug}"
    with httpx.Client(base_url=catalog.url, timeout=30) as http:
        made = http.post("/api/categories", json={"slug": slug, "name": slug}, headers=admin)
        assert made.status_code == 201, made.text
        body = {
            "name": name,
            "description": "A product the notifications tests name.",
            "category": slug,
            "price": "12.50",
            "currency": "EUR",
            "attributes": {},
            "image_urls": [],
            "in_stock": True,
        }
        created = http.post("/api/products", json=body, headers=admin)
        assert created.status_code == 201, created.text
        try:
            yield Product(id=uuid.UUID(created.json()["id"]), name=name)
        finally:
            http.delete(f"/api/products/{created.json()['id']}", headers=admin)
            http.delete(f"/api/categories/{slug}", headers=admin)


class ChatReader:
    """The messages the chat stand-ins accepted about one product (by its id in the text)."""

    def __init__(self, chat: ChatSandbox) -> None:
        self.url = chat.url

    def about(self, product_id: uuid.UUID) -> list[dict[str, Any]]:
        found = httpx.get(f"{self.url}/messages", timeout=10).raise_for_status().json()
        return [m for m in found["messages"] if str(product_id) in m["text"]]

    async def wait_for(self, product_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
        """The messages about the product once there are at least `count` (bounded)."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            found = await asyncio.to_thread(self.about, product_id)
            if len(found) >= count:
                return found
            assert time.monotonic() < deadline, f"{count} chat message(s) never came: {found}"
            await asyncio.sleep(0.2)
