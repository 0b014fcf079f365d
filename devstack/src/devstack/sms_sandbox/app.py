"""The SMS stand-in's HTTP API (``uvicorn devstack.sms_sandbox.app:create_app --factory``).

Shaped like SMS providers' REST APIs: ``POST /<account>/v1/messages`` with a bearer
API key and a JSON body ``{"to": "+E.164", "body": "...", "reference": "..."}``
answers 201 ``{"id", "status": "queued", ...}``. One process stands in for any
number of providers: the first path segment (the account) is the provider, so a
client's failover chain can name two base URLs, ``/acme`` and ``/backup``.

Faults on demand, per account, so failover is testable: ``PUT /<account>/fault``
``{"status": 503}`` makes every send to that account answer that status (not
recorded) until ``DELETE /<account>/fault``. A request with the same
``reference`` as an accepted one is answered with the first message again
(``Idempotent-Replayed: true``) and not recorded twice, as providers that take a
client reference do.

Tests read ``GET /messages?to=&account=`` (oldest first, the newest MAX_MESSAGES)
and forget with ``DELETE /messages``. Errors are problem+json with a ``detail``.
"""

from __future__ import annotations

import hmac
import itertools
import re
import time
from collections import deque
from typing import Annotated, Any

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from devstack.sms_sandbox.config import Config, load

MAX_MESSAGES = 1000
# Concatenated SMS top out around 10 parts of 153 GSM characters.
MAX_BODY_CHARS = 1600
ACCOUNT = r"^[a-z][a-z0-9-]{0,30}$"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
PROBLEM_TYPE = "application/problem+json"


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(pattern=E164.pattern, description="The recipient, E.164 (`+` and digits).")
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS, description="The text.")
    sender: str | None = Field(default=None, max_length=11, description="Alphanumeric sender.")
    reference: str | None = Field(
        default=None,
        max_length=200,
        description="The client's idempotency key: a second send with it is not recorded.",
    )


class Message(BaseModel):
    """One message the stand-in accepted."""

    id: str = Field(description="`SM` and the order of arrival.")
    account: str = Field(description="The provider (first path segment) it was sent to.")
    to: str
    body: str
    sender: str | None
    reference: str | None
    status: str = Field(description="Always `queued`: nothing leaves this machine.")
    received_at: float = Field(description="Arrival time, Unix seconds.")


class Messages(BaseModel):
    messages: list[Message] = Field(description="Oldest first.")


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(
        default=503, ge=400, le=599, description="What every send to the account answers."
    )


def _problem(status: int, title: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers or None,
    )


class Store:
    def __init__(self) -> None:
        self.messages: deque[Message] = deque(maxlen=MAX_MESSAGES)
        self.faults: dict[str, int] = {}
        self._ids = itertools.count(1)

    def by_reference(self, account: str, reference: str) -> Message | None:
        return next(
            (m for m in self.messages if m.account == account and m.reference == reference), None
        )

    def add(self, account: str, sent: SendRequest) -> Message:
        message = Message(
            id=f"SM{next(self._ids):08d}",
            account=account,
            to=sent.to,
            body=sent.body,
            sender=sent.sender,
            reference=sent.reference,
            status="queued",
            received_at=time.time(),
        )
        self.messages.append(message)
        return message


def create_app(config: Config | None = None) -> FastAPI:
    """The application; settings from the environment unless given."""
    settings = config if config is not None else load()
    store = Store()
    app = FastAPI(title="SMS provider stand-in", description=__doc__, version="1")

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return _problem(422, "Invalid request", f"{where or 'body'}: {first.get('msg')}")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/{account}/v1/messages",
        status_code=201,
        tags=["provider"],
        summary="Send an SMS",
        responses={
            200: {"description": "Replayed: a message with this reference was accepted before."},
            401: {"description": "No bearer key, or not the stand-in's."},
            422: {"description": "A bad recipient, body or field."},
            503: {"description": "A fault set with `PUT /<account>/fault` (any 4xx/5xx)."},
        },
    )
    async def send(
        account: Annotated[str, Path(pattern=ACCOUNT, description="The provider.")],
        sent: SendRequest,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            key.encode(), settings.api_key.encode()
        ):
            return _problem(401, "Unauthorized", "a bearer API key is required (the stand-in's)")
        if (status := store.faults.get(account)) is not None:
            return _problem(status, "Provider fault", f"account {account} is set to fail")
        if sent.reference and (earlier := store.by_reference(account, sent.reference)):
            return JSONResponse(
                earlier.model_dump(), status_code=200, headers={"Idempotent-Replayed": "true"}
            )
        return JSONResponse(store.add(account, sent).model_dump(), status_code=201)

    @app.put("/{account}/fault", status_code=204, tags=["faults"], summary="Make sends fail")
    async def set_fault(account: Annotated[str, Path(pattern=ACCOUNT)], fault: Fault) -> Response:
        store.faults[account] = fault.status
        return Response(status_code=204)

    @app.delete("/{account}/fault", status_code=204, tags=["faults"], summary="Clear the fault")
    async def clear_fault(account: str) -> Response:
        store.faults.pop(account, None)
        return Response(status_code=204)

    @app.get("/messages", tags=["read"], summary="The messages accepted, oldest first")
    async def list_messages(
        to: Annotated[str | None, Query(description="Only to this number.")] = None,
        account: Annotated[str | None, Query(description="Only this provider's.")] = None,
    ) -> Messages:
        return Messages(
            messages=[
                m
                for m in store.messages
                if (to is None or m.to == to) and (account is None or m.account == account)
            ]
        )

    @app.delete("/messages", status_code=204, tags=["read"], summary="Forget every message")
    async def clear_messages() -> Response:
        store.messages.clear()
        return Response(status_code=204)

    return app
