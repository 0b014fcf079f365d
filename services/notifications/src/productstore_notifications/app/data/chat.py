"""The admins' chats: a Slack incoming webhook and the Telegram Bot API's sendMessage
(devstack: the chat stand-ins, which Alertmanager posts to as well).

Each is a provider of the chat failover chain: ``send`` returns when the chat took the
message and raises ProviderRefusedError otherwise. Neither API dedupes by a key of
ours, so the claim (event, `admins`, `chat`) is what keeps a message from going twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from productstore_notifications.app.data.smtp import ProviderRefusedError


@dataclass(frozen=True)
class ChatMessage:
    text: str


class SlackWebhook:
    """``POST <webhook URL>`` with ``{"text"}``; Slack answers ``ok`` (an error code and a 4xx
    otherwise: ``no_service`` for a revoked URL, ``invalid_payload``, ``no_text``)."""

    name = "slack"

    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: ChatMessage) -> None:
        try:
            response = await self._http.post(self._url, json={"text": message.text})
        except httpx.HTTPError as exc:
            # The URL is the credential: name the error, never the URL.
            raise ProviderRefusedError(f"{type(exc).__name__} posting to the webhook") from exc
        if not response.is_success:
            raise ProviderRefusedError(
                f"Slack answered {response.status_code}: {response.text[:200]}"
            )


class TelegramBot:
    """``POST <api>/bot<token>/sendMessage`` with ``{"chat_id", "text"}``; Telegram answers
    ``{"ok": true, ...}`` or ``{"ok": false, "error_code", "description"}``."""

    name = "telegram"

    def __init__(self, api_url: str, token: str, chat_id: int, *, timeout: float) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id = chat_id
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: ChatMessage) -> None:
        body = {"chat_id": self._chat_id, "text": message.text}
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            # The token is in the URL: name the error, never the URL.
            raise ProviderRefusedError(f"{type(exc).__name__} calling sendMessage") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not response.is_success or not isinstance(answer, dict) or answer.get("ok") is not True:
            description = answer.get("description") if isinstance(answer, dict) else None
            raise ProviderRefusedError(
                f"Telegram answered {response.status_code}: {description or response.text[:200]}"
            )
