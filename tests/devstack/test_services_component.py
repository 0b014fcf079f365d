"""devstack runs every service from its descriptor: nothing per service but the descriptor."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from devstack.component import Context
from devstack.components import ALL
from devstack.components.chat import ChatSandbox
from devstack.components.payments import PaymentsSandbox
from devstack.components.services import (
    SERVICES,
    AuthService,
    CatalogService,
    NotificationsService,
    OrdersService,
    UvicornService,
    WishlistService,
    render_routes,
    service_component,
    uvicorn_argv,
)
from devstack.components.sms import SmsSandbox
from devstack.paths import Paths
from productstore_contracts.descriptor import ServiceDescriptor
from productstore_contracts.services import DESCRIPTORS
from productstore_notifications.app.core.config import NotificationsSettings
from tests.common.tinyapp import uvicorn_process
from tests.support.gateway import private_gateway

THINGS = ServiceDescriptor(
    name="things",
    summary="a service only this test knows",
    route_prefixes=("/api/things", "/api/thing-sets/"),
    port=8177,
    dependencies=frozenset({"cassandra", "kafka", "vault"}),
    calls=frozenset({"auth"}),
    produces=("productstore.things",),
)


def _context(tmp_path: Path) -> Context:
    return Context(paths=Paths(cache=tmp_path / "cache", state=tmp_path / "state"))


def test_every_descriptor_is_a_component_in_the_registry() -> None:
    assert [s.descriptor for s in SERVICES] == list(DESCRIPTORS)
    assert [c for c in ALL if issubclass(c, UvicornService)] == list(SERVICES)
    assert (AuthService.name, CatalogService.name) == ("auth", "catalog")


def test_a_new_descriptor_is_run_routed_and_wired_from_the_descriptor(tmp_path: Path) -> None:
    component = service_component(THINGS)(_context(tmp_path))
    assert (component.name, component.port, component.url) == (
        "things",
        8177,
        "http://127.0.0.1:8177",
    )
    # What runs first: its servers, the gateway and traces, the services it calls.
    assert component.requires == ("cassandra", "kafka", "openbao", "nginx", "jaeger", "auth")
    spec = component.process_spec()
    assert "productstore_things.app.main:create_app" in spec.argv
    assert spec.argv[spec.argv.index("--port") + 1] == "8177"
    env = spec.env
    assert env["THINGS_CASSANDRA_KEYSPACE"] == "productstore_things"
    assert env["THINGS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["THINGS_JWT_JWKS_URL"] == "http://127.0.0.1:8101/api/auth/.well-known/jwks.json"
    assert all(name.startswith("THINGS_") for name in env)
    assert component.env() == {"THINGS_URL": "http://127.0.0.1:8177"}
    routes = render_routes(component.name, component.route_prefixes)
    for match in ("= /api/things", "/api/things/", "/api/thing-sets/"):
        assert f"location {match} {{" in routes


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_services_without_kafka_or_auth_get_neither(
    tmp_path: Path, service: type[UvicornService]
) -> None:
    env = service(_context(tmp_path)).process_spec().env
    prefix = service.descriptor.env_prefix
    assert (f"{prefix}KAFKA_BOOTSTRAP_SERVERS" in env) == (
        "kafka" in service.descriptor.dependencies
    )
    assert (f"{prefix}JWT_JWKS_URL" in env) == service.descriptor.verifies_tokens


def test_orders_runs_after_the_payment_sandbox_and_reads_its_key_file(tmp_path: Path) -> None:
    context = _context(tmp_path)
    orders = OrdersService(context)
    sandbox = PaymentsSandbox(context)
    assert orders.requires[: orders.requires.index("nginx")] == (
        "cassandra",
        "kafka",
        "payments",
        "redis",
    )
    assert set(orders.requires) >= {"auth", "catalog", "inventory"}
    env = orders.process_spec().env
    assert env["ORDERS_PAYMENTS_URL"] == sandbox.url
    # The file the sandbox writes its key to; the value stays out of the environment.
    assert env["ORDERS_PAYMENTS_API_KEY_FILE"] == str(sandbox.api_key_file)
    assert "ORDERS_PAYMENTS_API_KEY" not in env
    assert env["ORDERS_CATALOG_URL"] == "http://127.0.0.1:8102"
    assert env["ORDERS_INVENTORY_URL"] == "http://127.0.0.1:8104"


def test_wishlist_runs_after_catalog_and_orders_and_calls_them(tmp_path: Path) -> None:
    wishlist = WishlistService(_context(tmp_path))
    assert set(wishlist.requires) >= {"cassandra", "kafka", "auth", "catalog", "orders"}
    assert wishlist.port == 8107
    env = wishlist.process_spec().env
    assert env["WISHLIST_CATALOG_URL"] == "http://127.0.0.1:8102"
    assert env["WISHLIST_ORDERS_URL"] == "http://127.0.0.1:8103"
    assert env["WISHLIST_CASSANDRA_KEYSPACE"] == "productstore_wishlist"


def test_notifications_sends_to_mailpit_as_a_client_auth_knows(tmp_path: Path) -> None:
    context = _context(tmp_path)
    notifications = NotificationsService(context)
    auth = AuthService(context)
    assert "mailpit" in notifications.requires
    assert "auth" in notifications.requires
    env = notifications.process_spec().env
    assert env["NOTIFICATIONS_SMTP_SERVERS"] == "127.0.0.1:1025"
    assert env["NOTIFICATIONS_AUTH_URL"] == "http://127.0.0.1:8101"
    assert "NOTIFICATIONS_AUTH_CLIENT_SECRET" not in env
    secret_file = Path(env["NOTIFICATIONS_AUTH_CLIENT_SECRET_FILE"])

    # auth's component writes the clients it accepts, with the same secret, once.
    auth.state_dir.mkdir(parents=True)
    auth._write_service_clients()
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    clients = json.loads(auth.service_clients_file.read_text())
    assert clients == {"notifications": {"secret": secret, "audiences": ["auth"]}}
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert auth.service_clients_file.stat().st_mode & 0o777 == 0o600
    auth._write_service_clients()
    assert secret_file.read_text().strip() == secret
    assert auth.process_spec().env["AUTH_SERVICE_CLIENTS_FILE"] == str(auth.service_clients_file)


def test_notifications_posts_stock_alerts_to_the_chat_stand_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = _context(tmp_path)
    notifications = NotificationsService(context)
    chat = ChatSandbox(context)
    assert "chat" in notifications.requires
    env = notifications.process_spec().env
    # The files the chat component writes (never the values in the environment).
    assert Path(env["NOTIFICATIONS_CHAT_SLACK_WEBHOOK_URL_FILE"]) == chat.slack_url_file
    assert Path(env["NOTIFICATIONS_CHAT_TELEGRAM_BOT_TOKEN_FILE"]) == chat.telegram_token_file
    assert "NOTIFICATIONS_CHAT_SLACK_WEBHOOK_URL" not in env
    assert env["NOTIFICATIONS_TELEGRAM_API_URL"] == chat.url
    assert env["NOTIFICATIONS_CHAT_TELEGRAM_CHAT_ID"] == "-1002"
    assert env["NOTIFICATIONS_CATALOG_URL"] == "http://127.0.0.1:8102"
    # The files as the chat component writes them are settings the service accepts.
    chat.prepare()
    for name, value in env.items():
        if "_CHAT_" in name or name.endswith("TELEGRAM_API_URL"):
            monkeypatch.setenv(name, value)
    settings = NotificationsSettings(environment="test", unsubscribe_key=SecretStr("k" * 32))
    assert settings.chat_count() == 2
    assert settings.chat_slack_webhook_url is not None
    assert settings.chat_slack_webhook_url.get_secret_value().startswith(f"{chat.url}/services/T")


def test_notifications_signs_unsubscribe_links_with_a_key_made_once(tmp_path: Path) -> None:
    notifications = NotificationsService(_context(tmp_path))
    env = notifications.process_spec().env
    assert "NOTIFICATIONS_UNSUBSCRIBE_KEY" not in env
    key_file = Path(env["NOTIFICATIONS_UNSUBSCRIBE_KEY_FILE"])
    assert key_file == notifications.unsubscribe_key_file
    notifications.state_dir.mkdir(parents=True)
    notifications._write_unsubscribe_key()
    key = key_file.read_text().strip()
    assert len(key) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    # A restart keeps it: links in mail already sent still work.
    notifications._write_unsubscribe_key()
    assert key_file.read_text().strip() == key


def _get_from(source: str, url: str, headers: dict[str, str]) -> dict[str, str]:
    """GET `url` over a connection from the loopback address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, str] = response.json()
    return answer


SPOOFS: list[dict[str, str]] = [
    {},
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"},
    {"X-Client-Address": "203.0.113.7"},
    {"X-Real-IP": "203.0.113.7", "Forwarded": "for=203.0.113.7"},
]


@pytest.mark.parametrize("spoof", SPOOFS)
@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.{}.{}"])
def test_services_key_clients_by_the_address_the_gateway_saw(
    tmp_path: Path, spoof: dict[str, str], source: str
) -> None:
    """A service run as devstack runs it (uvicorn_argv, the service environment's
    trusted proxy) behind the gateway's config and route templates: whatever forwarding
    headers a client sends, its rate-limit subject is the address it connected from.
    With X-Forwarded-For believed, a client on the gateway's own address (every
    devstack client) got a fresh login budget for every fake address it sent."""
    source = source.format(random.randint(10, 250), random.randint(2, 250))  # noqa: S311 - a spare address
    spec = CatalogService(_context(tmp_path)).process_spec()
    argv = uvicorn_argv("factory", 1)
    options = argv[argv.index("--port") + 2 :]
    trusted = {
        key.removeprefix(CatalogService.env_prefix): value
        for key, value in spec.env.items()
        if key.endswith("TRUSTED_PROXIES")
    }
    env = {f"PRODUCTSTORE_{key}": value for key, value in trusted.items()}
    with uvicorn_process(env, options) as served:
        upstream_port = int(served.url.rsplit(":", 1)[1])
        with private_gateway(tmp_path, "whoami", upstream_port, ("/api/whoami",)) as gateway:
            seen = _get_from(source, f"{gateway}/api/whoami", spoof)
            assert seen == {"address": source, "subject": f"ip:{source}"}
            if source != "127.0.0.1":
                # Straight to the service, not from the gateway: no header is believed.
                direct = _get_from(source, f"{served.url}/api/whoami", spoof)
                assert direct == {"address": source, "subject": f"ip:{source}"}


def test_notifications_texts_through_both_sms_accounts_and_pushes_with_its_own_key(
    tmp_path: Path,
) -> None:
    context = _context(tmp_path)
    notifications = NotificationsService(context)
    sms = SmsSandbox(context)
    assert {"sms", "webpush"} <= set(notifications.requires)
    env = notifications.process_spec().env
    assert env["NOTIFICATIONS_SMS_PROVIDERS"] == ",".join(sms.provider_urls())
    assert env["NOTIFICATIONS_SMS_API_KEY_FILE"] == str(sms.api_key_file)
    assert env["NOTIFICATIONS_PUSH_ENDPOINT_HOSTS"] == "127.0.0.1:8173"
    assert "NOTIFICATIONS_VAPID_PRIVATE_KEY" not in env
    key_file = Path(env["NOTIFICATIONS_VAPID_PRIVATE_KEY_FILE"])
    notifications.state_dir.mkdir(parents=True)
    notifications._write_vapid_key()
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    # A key the service's settings accept (beside the unsubscribe key devstack makes
    # too), kept across restarts.
    notifications._write_unsubscribe_key()
    settings = NotificationsSettings(
        environment="test",
        vapid_private_key=SecretStr(key.strip()),
        unsubscribe_key=SecretStr(notifications.unsubscribe_key_file.read_text().strip()),
    )
    assert settings.vapid_private_key is not None
    notifications._write_vapid_key()
    assert key_file.read_text() == key
