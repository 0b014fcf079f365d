"""The stand-ins' HTTP API (``uvicorn devstack.chat_sandbox.app:create_app --factory``).

Two third parties Alertmanager notifies, served by one process on loopback:

- a Slack incoming webhook, ``POST /services/<team>/<channel>/<secret>`` with a
  JSON message; the secret is the webhook URL's last segment, as in Slack's
  own ``https://hooks.slack.com/services/T…/B…/…``. Slack answers ``ok`` as
  text, and an error code as text (``invalid_payload``, ``no_text``,
  ``no_service``) with a 4xx;
- the Telegram Bot API's ``POST /bot<token>/sendMessage`` (JSON or form body,
  ``chat_id`` and ``text``), answering ``{"ok": true, "result": <Message>}``
  or ``{"ok": false, "error_code", "description"}`` like Telegram.

Every accepted message is recorded in memory (the newest MAX_MESSAGES) and read
back with ``GET /messages?receiver=slack|telegram``; ``DELETE /messages``
forgets them. A request with a wrong secret or token is refused and not
recorded, so a test sees that Alertmanager read its credentials right.
"""

from __future__ import annotations

import hmac
import itertools
import json
import time
from collections import deque
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from devstack.chat_sandbox.config import Config, load

# Enough for any test; a long-running stack forgets the oldest.
MAX_MESSAGES = 1000
MAX_BODY_BYTES = 256 * 1024
# Telegram refuses longer texts ("message is too long").
TELEGRAM_MAX_TEXT = 4096

Receiver = Literal["slack", "telegram"]


class Message(BaseModel):
    """One message a stand-in accepted."""

    id: int = Field(description="Order of arrival, from 1, over both receivers.")
    receiver: Receiver = Field(description="Which stand-in received it.")
    received_at: float = Field(description="Arrival time, Unix seconds.")
    chat: str | None = Field(
        description="Telegram: the chat_id sent; Slack: the channel sent, if any."
    )
    text: str = Field(description="Telegram: text; Slack: text, or the attachments' texts.")
    body: dict[str, Any] = Field(description="The request body as received (parsed).")


class Messages(BaseModel):
    """Recorded messages, oldest first."""

    messages: list[Message]


class Inbox:
    """The recorded messages of one process."""

    def __init__(self) -> None:
        self._messages: deque[Message] = deque(maxlen=MAX_MESSAGES)
        self._ids = itertools.count(1)

    def add(self, receiver: Receiver, chat: str | None, text: str, body: dict[str, Any]) -> Message:
        message = Message(
            id=next(self._ids),
            receiver=receiver,
            received_at=time.time(),
            chat=chat,
            text=text,
            body=body,
        )
        self._messages.append(message)
        return message

    def list(self, receiver: Receiver | None) -> list[Message]:
        return [m for m in self._messages if receiver is None or m.receiver == receiver]

    def clear(self) -> None:
        self._messages.clear()


async def _body(request: Request) -> dict[str, Any] | None:
    """The JSON or form body as a dict; None when it is neither."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/x-www-form-urlencoded":
        return {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _slack_text(body: dict[str, Any]) -> str:
    if isinstance(body.get("text"), str) and body["text"]:
        return str(body["text"])
    parts: list[str] = []
    for attachment in body.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [
                str(attachment[key])
                for key in ("title", "text", "fallback")
                if isinstance(attachment.get(key), str) and attachment[key]
            ]
    return "\n".join(parts)


def _telegram_error(status: int, description: str) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error_code": status, "description": description}, status_code=status
    )


def create_app(config: Config | None = None) -> FastAPI:
    """The application; settings from the environment unless given."""
    settings = config if config is not None else load()
    inbox = Inbox()
    app = FastAPI(
        title="Chat sandbox (Slack and Telegram stand-ins)",
        description=__doc__,
        version="1",
    )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/services/{team}/{channel}/{secret}",
        tags=["slack"],
        response_class=PlainTextResponse,
        summary="Slack incoming webhook: post a message",
        responses={
            200: {"description": "Accepted: the text `ok`."},
            400: {"description": "`invalid_payload` (not a JSON object) or `no_text`."},
            404: {"description": "`no_service`: the webhook URL's secret is wrong."},
        },
    )
    async def slack_webhook(team: str, channel: str, secret: str, request: Request) -> Response:
        expected = f"{team}/{channel}/{secret}"
        if not hmac.compare_digest(expected.encode(), settings.slack_webhook_path.encode()):
            return PlainTextResponse("no_service", status_code=404)
        body = await _body(request)
        if body is None:
            return PlainTextResponse("invalid_payload", status_code=400)
        text = _slack_text(body)
        if not text and not body.get("blocks"):
            return PlainTextResponse("no_text", status_code=400)
        channel_name = body.get("channel")
        inbox.add("slack", str(channel_name) if channel_name else None, text, body)
        return PlainTextResponse("ok")

    @app.post(
        "/bot{token}/sendMessage",
        tags=["telegram"],
        summary="Telegram Bot API sendMessage",
        responses={
            200: {"description": '`{"ok": true, "result": <Message>}`.'},
            400: {"description": "A missing or bad chat_id or text (Telegram's wording)."},
            401: {"description": "The bot token in the path is not the bot's."},
        },
    )
    async def telegram_send_message(token: str, request: Request) -> JSONResponse:
        if not hmac.compare_digest(token.encode(), settings.telegram_bot_token.encode()):
            return _telegram_error(401, "Unauthorized")
        body = await _body(request)
        if body is None:
            return _telegram_error(400, "Bad Request: invalid request body")
        chat_id = body.get("chat_id")
        try:
            chat = int(str(chat_id))
        except ValueError:
            return _telegram_error(400, "Bad Request: chat_id is empty or not an integer")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _telegram_error(400, "Bad Request: message text is empty")
        if len(text) > TELEGRAM_MAX_TEXT:
            return _telegram_error(400, "Bad Request: message is too long")
        message = inbox.add("telegram", str(chat), text, body)
        return JSONResponse(
            {
                "ok": True,
                "result": {
                    "message_id": message.id,
                    "date": int(message.received_at),
                    "chat": {"id": chat, "type": "group" if chat < 0 else "private"},
                    "text": text,
                },
            }
        )

    @app.get("/messages", tags=["read"], summary="The messages received, oldest first")
    async def list_messages(
        receiver: Annotated[
            Receiver | None, Query(description="Only this stand-in's; unset: both.")
        ] = None,
    ) -> Messages:
        return Messages(messages=inbox.list(receiver))

    @app.delete(
        "/messages", tags=["read"], status_code=204, summary="Forget every message received"
    )
    async def clear_messages() -> Response:
        inbox.clear()
        return Response(status_code=204)

    return app
