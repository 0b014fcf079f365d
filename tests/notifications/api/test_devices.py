"""`/api/notifications/devices`: Web Push subscriptions checked before they are kept
(problem+json naming the bad part), listed with the VAPID key, replaced, removed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devstack.components.webpush import WebPushSandbox
from productstore_notifications.app.core.config import NotificationsSettings
from tests.catalog.support import asgi_client
from tests.notifications.mobile import browser_subscription, new_vapid_key
from tests.notifications.support import User, running
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio

DEVICES = "/api/notifications/devices"


@pytest.fixture(scope="module")
async def push_app(
    settings: NotificationsSettings, webpush_sandbox: WebPushSandbox
) -> AsyncIterator[FastAPI]:
    host = webpush_sandbox.url.removeprefix("http://")
    overrides = {
        "vapid_private_key": new_vapid_key(),
        "push_endpoint_hosts": f"{host},.push.example.net",
        "max_devices": 2,
    }
    async with running(settings, **overrides) as app:
        yield app


@pytest.fixture(scope="module")
async def push_client(push_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(push_app) as client:
        yield client


async def test_a_subscription_is_kept_listed_replaced_and_removed(
    push_client: httpx.AsyncClient,
    webpush_sandbox: WebPushSandbox,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    listed = (await push_client.get(DEVICES, headers=bearer(user.token))).json()
    assert listed["items"] == []
    assert len(listed["vapid_public_key"]) == 87  # 65 octets, base64url
    subscription = browser_subscription(webpush_sandbox, listed["vapid_public_key"])
    for _ in range(2):  # the same endpoint again replaces it
        added = await push_client.post(DEVICES, json=subscription, headers=bearer(user.token))
        assert added.status_code == 201, added.text
        assert added.json() == {"endpoint": subscription["endpoint"]}
    listed = (await push_client.get(DEVICES, headers=bearer(user.token))).json()
    assert listed["items"] == [{"endpoint": subscription["endpoint"]}]
    # Another user's list does not show it, nor can they remove it.
    other = user_factory()
    body = {"endpoint": subscription["endpoint"]}
    refused = await push_client.request("DELETE", DEVICES, json=body, headers=bearer(other.token))
    assert_problem(refused, 404, "device_not_found")
    removed = await push_client.request("DELETE", DEVICES, json=body, headers=bearer(user.token))
    assert removed.status_code == 204
    again = await push_client.request("DELETE", DEVICES, json=body, headers=bearer(user.token))
    assert_problem(again, 404, "device_not_found")


async def test_more_than_the_most_devices_is_409(
    push_client: httpx.AsyncClient,
    webpush_sandbox: WebPushSandbox,
    user_factory: Callable[[], User],
) -> None:
    user = user_factory()
    for _ in range(2):
        subscription = browser_subscription(webpush_sandbox, None)
        added = await push_client.post(DEVICES, json=subscription, headers=bearer(user.token))
        assert added.status_code == 201
    third = browser_subscription(webpush_sandbox, None)
    refused = await push_client.post(DEVICES, json=third, headers=bearer(user.token))
    body = assert_problem(refused, 409, "too_many_devices")
    assert "remove one" in body["detail"]


GOOD_P256DH = (
    "BKaww11bOzTM_nzg9y8qbKG6rrLub4QbsqGlEQfKyd7LVnQFhG_GMKmFbRl2AKfDyVo5J7g3K13Oo740cOEgJEk"
)
GOOD_AUTH = "wZhASnHCXZei6uyBoor-Ow"


def device(endpoint: str, p256dh: str = GOOD_P256DH, auth: str = GOOD_AUTH) -> dict[str, Any]:
    return {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}


BAD_DEVICES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown push service", device("https://evil.example.com/push/1"), "not a push service"),
    ("plain http off loopback", device("http://a.push.example.net/1"), "must be https"),
    ("not a url scheme we call", device("ftp://a.push.example.net/1"), "https URL"),
    ("credentials in the url", device("https://u:p@a.push.example.net/1"), "credentials"),
    (
        "p256dh not on the curve",
        device("https://a.push.example.net/1", p256dh="B" + "A" * 86),
        "not an uncompressed point on P-256",
    ),
    (
        "auth of 15 octets",
        device("https://a.push.example.net/1", auth="wZhASnHCXZei6uyBoor-"),
        "keys.auth is 15 octets",
    ),
]


@pytest.mark.parametrize(("case", "body", "detail"), BAD_DEVICES, ids=[c[0] for c in BAD_DEVICES])
async def test_bad_subscriptions_are_refused_with_the_reason(
    push_client: httpx.AsyncClient,
    user_factory: Callable[[], User],
    case: str,
    body: dict[str, Any],
    detail: str,
) -> None:
    user = user_factory()
    refused = await push_client.post(DEVICES, json=body, headers=bearer(user.token))
    problem = assert_problem(refused, 422, "invalid_subscription")
    assert detail in problem["detail"], (case, problem["detail"])


async def test_malformed_bodies_are_422_with_a_pointer(
    push_client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    body = {"endpoint": "https://a.push.example.net/1", "keys": {"p256dh": GOOD_P256DH}}
    refused = await push_client.post(DEVICES, json=body, headers=bearer(user.token))
    assert_problem(refused, 422)
    assert "keys/auth" in refused.text


async def test_without_a_vapid_key_devices_are_refused_as_unconfigured(
    client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    listed = (await client.get(DEVICES, headers=bearer(user.token))).json()
    assert listed["vapid_public_key"] is None
    refused = await client.post(
        DEVICES, json=device("https://a.push.example.net/1"), headers=bearer(user.token)
    )
    assert_problem(refused, 503, "push_not_configured")


async def test_devices_need_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(DEVICES), 401)
