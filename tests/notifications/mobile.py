"""What the SMS and Web Push tests share: settings pointing at devstack's stand-ins
(accounts of the test's own, so faults touch no one else), phones, subscriptions."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from devstack.components.sms import SmsSandbox
from devstack.components.webpush import WebPushSandbox
from tests.notifications.support import User
from tests.support.problems import bearer


def new_vapid_key() -> SecretStr:
    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return SecretStr(base64.urlsafe_b64encode(scalar.to_bytes(32, "big")).rstrip(b"=").decode())


def new_phone() -> str:
    return "+4477" + "".join(secrets.choice("0123456789") for _ in range(8))


class SmsAccounts:
    """Two provider accounts of this test's own on devstack's SMS stand-in."""

    def __init__(self, sms: SmsSandbox) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.sms = sms
        self.names = (f"a{suffix}", f"b{suffix}")
        self.urls = tuple(f"{sms.url}/{name}" for name in self.names)
        self.providers = tuple(f"sms:{url}" for url in self.urls)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {
            "sms_providers": ",".join(self.urls),
            "sms_api_key": SecretStr(self.sms.api_key()),
            **overrides,
        }

    def fail(self, index: int, status: int = 503) -> None:
        httpx.put(
            f"{self.urls[index]}/fault", json={"status": status}, timeout=5
        ).raise_for_status()

    def recover(self, index: int) -> None:
        httpx.delete(f"{self.urls[index]}/fault", timeout=5).raise_for_status()

    def all_received(self, phone: str) -> list[dict[str, Any]]:
        """Every message to `phone` (verification codes too), oldest first."""
        found = httpx.get(f"{self.sms.url}/messages", params={"to": phone}, timeout=5)
        messages: list[dict[str, Any]] = found.raise_for_status().json()["messages"]
        return messages

    def received(self, phone: str) -> list[dict[str, Any]]:
        """Delivery updates to `phone` (not its verification codes), oldest first."""
        return [m for m in self.all_received(phone) if not is_code(m)]

    def code_sent_to(self, phone: str) -> str:
        """The newest one-time code the stand-in delivered to `phone`."""
        codes = [m for m in self.all_received(phone) if is_code(m)]
        assert codes, f"no verification code reached {phone}"
        found = re.search(r"\b([0-9]{6})\b", codes[-1]["body"])
        assert found is not None, codes[-1]["body"]
        return found.group(1)


def is_code(message: dict[str, Any]) -> bool:
    """A verification code's SMS (its reference is `verify:<user>:<id>`)."""
    return str(message.get("reference", "")).startswith("verify:")


def browser_subscription(webpush: WebPushSandbox, server_key: str | None) -> dict[str, Any]:
    """A subscription as a browser's PushManager.subscribe makes it (bound to the key)."""
    body = {"application_server_key": server_key} if server_key else None
    made = httpx.post(f"{webpush.url}/subscriptions", json=body, timeout=5)
    subscription: dict[str, Any] = made.raise_for_status().json()
    return subscription


def pushes_to(webpush: WebPushSandbox, endpoint: str) -> list[dict[str, Any]]:
    """The decrypted pushes the stand-in accepted for this endpoint."""
    subscription = endpoint.rsplit("/", 1)[1]
    found = httpx.get(f"{webpush.url}/messages", params={"subscription": subscription}, timeout=5)
    messages: list[dict[str, Any]] = found.raise_for_status().json()["messages"]
    return messages


async def opt_in(
    client: httpx.AsyncClient, accounts: SmsAccounts, user: User, phone: str, locale: str = "en"
) -> None:
    """The user gives a phone, says yes to SMS, and proves the phone with its code."""
    body = {"locale": locale, "phone": phone, "sms_opt_in": True}
    put = await client.put("/api/notifications/preferences", json=body, headers=bearer(user.token))
    assert put.status_code == 200, put.text
    await verify_phone(client, accounts, user, phone)


async def verify_phone(
    client: httpx.AsyncClient, accounts: SmsAccounts, user: User, phone: str
) -> None:
    """Ask for a code, read it off the SMS stand-in as the phone's owner would, send it."""
    sent = await client.post(
        "/api/notifications/preferences/phone/code", headers=bearer(user.token)
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["phone"] == phone
    checked = await client.post(
        "/api/notifications/preferences/phone/verify",
        json={"code": accounts.code_sent_to(phone)},
        headers=bearer(user.token),
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["phone_verified"] is True
