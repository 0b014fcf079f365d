"""Every panel of the store's dashboards returns data after real traffic.

End to end on devstack: the operator of this checkout (a real process) reconciles a
store into devstack's Kubernetes, and the dashboards are read back from the
ConfigMaps helm installed for it, the rules from its PrometheusRule. The store's
services run from this checkout as real apps over HTTP on loopback (auth,
catalog, inventory, orders, reviews on devstack's Cassandra, Kafka, Redis,
OpenBao and payment sandbox), labelled as the store's ServiceMonitors label them.
A Prometheus of devstack's build, started here on a free port (the shared one
is never reloaded), scrapes them, the operator and the JMX exporters of
devstack's Cassandra and Kafka, and evaluates the store's rules. Traffic:
products, stock, carts, searches (one finding nothing), reviews, checkouts that
are paid, declined, rejected for stock, cancelled by the customer and refunded
after fulfilment. Then every query of every panel, its variables filled in as
Grafana would, must parse and return at least one series.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from devstack import jmx_exporter
from devstack.components.cassandra import Cassandra
from devstack.components.kafka import Kafka
from devstack.components.prometheus import Prometheus
from devstack.components.redis import Redis
from productstore_contracts.services import DESCRIPTORS
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app as create_orders_app
from productstore_reviews.app.data import migrations_dir as reviews_migrations
from productstore_reviews.app.main import create_app as create_reviews_app
from tests.catalog.conftest import JWKS_PATH
from tests.catalog.support import AuthServer, Tokens, serve_in_thread
from tests.operator.builders.dashboard_queries import (
    grafana_expr,
    panel_queries,
    server_variables,
)
from tests.operator.handlers.conftest import box, h
from tests.operator.handlers.support import Harness, devstack_spec, free_port
from tests.orders.conftest import (
    anyio_backend,
    auth_server,
    backing,
    callees,
    inventory_overrides,
    overrides,
    settings,
    tokens,
)
from tests.orders.support import Callees, Shop, bearer, place, wait_status
from tests.reviews.support import Backing as ReviewsBacking
from tests.reviews.support import new_user_token, reviews_settings
from tests.support.keyspaces import migrated_keyspace, topics

__all__ = [
    "anyio_backend",
    "auth_server",
    "backing",
    "box",
    "callees",
    "h",
    "inventory_overrides",
    "overrides",
    "settings",
    "tokens",
]

pytestmark = pytest.mark.anyio

STORE = "shop"
# What Grafana makes of $__rate_interval with a 15 s scrape interval (4 x 15 s).
RATE_INTERVAL = "1m"
DATA_TIMEOUT = 120.0
EXERCISED = ("auth", "catalog", "inventory", "orders", "reviews")


@dataclass(frozen=True)
class Services:
    """The store's services, each a base URL on loopback."""

    urls: dict[str, str]


@pytest.fixture(scope="module")
def reviews_url(
    cassandra: Cassandra, kafka: Kafka, redis_server: Redis, auth_server: AuthServer
) -> Iterator[str]:
    suffix = uuid.uuid4().hex[:12]
    found = ReviewsBacking(keyspace=f"dash_rev_{suffix}", events_topic=f"dash-rev-{suffix}")
    with (
        migrated_keyspace(cassandra, found.keyspace, reviews_migrations()),
        topics(kafka, [found.events_topic]),
    ):
        config = reviews_settings(
            cassandra, kafka, redis_server, found, auth_server.url + JWKS_PATH
        )
        with serve_in_thread(create_reviews_app(config)) as url:
            yield url


@pytest.fixture(scope="module")
def services(
    auth_server: AuthServer, callees: Callees, settings: OrdersSettings, reviews_url: str
) -> Iterator[Services]:
    with serve_in_thread(create_orders_app(settings)) as orders_url:
        yield Services(
            {
                "auth": auth_server.url,
                "catalog": callees.catalog_url,
                "inventory": callees.inventory_url,
                "orders": orders_url,
                "reviews": reviews_url,
            }
        )


def _converged_store(h: Harness) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The dashboards and rule groups helm installed for the operator's store."""
    spec = devstack_spec(h.box, h.openbao)
    # The services this test runs and drives; a later service's RED dashboard is the
    # same template, and it would have no traffic here.
    for descriptor in DESCRIPTORS:
        if descriptor.name not in EXERCISED:
            spec.setdefault("services", {}).setdefault(descriptor.name, {})["enabled"] = False
    h.box.apply_store(STORE, spec)
    h.box.wait_ready(STORE)
    core = client.CoreV1Api(h.box.api)
    maps = core.list_namespaced_config_map(
        h.box.namespace, label_selector="grafana_dashboard=1"
    ).items
    dashboards = {
        name: json.loads(text) for config_map in maps for name, text in config_map.data.items()
    }
    rule = h.box.custom.get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", h.box.namespace, "prometheusrules", STORE
    )
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return dashboards, groups


@pytest.fixture
def private_prometheus(
    prometheus: Prometheus, h: Harness, services: Services, tmp_path: Path
) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    dashboards, groups = _converged_store(h)
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000))
    labels = {"namespace": h.box.namespace, "store": STORE}
    targets = [
        {"targets": [url.removeprefix("http://")], "labels": {**labels, "service": service}}
        for service, url in services.urls.items()
    ]
    operator = {
        "targets": [f"127.0.0.1:{h.operator.metrics_port}"],
        "labels": {"service": "operator"},
    }
    # Cassandra's and Kafka's JMX exporters, under devstack's job names (the server
    # boards' default jobs); scraping them changes nothing for the other tests.
    servers = [
        {"job_name": job, "static_configs": [{"targets": [f"{jmx_exporter.HOST}:{port}"]}]}
        for job, port in (
            ("cassandra", jmx_exporter.CASSANDRA_PORT),
            ("kafka", jmx_exporter.KAFKA_PORT),
        )
    ]
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": "services", "static_configs": [*targets, operator]},
            *servers,
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log:
        process = subprocess.Popen(
            [
                str(prometheus.binary),
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", dashboards
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


async def _traffic(urls: dict[str, str], callees: Callees, tokens: Tokens) -> None:
    """What a day of a small shop looks like, compressed."""
    shop = Shop(callees, tokens.admin)
    kettle = await shop.product(price="25.00", stock=10)
    last_one = await shop.product(price="4.50", stock=1)
    async with (
        httpx.AsyncClient(base_url=urls["auth"], timeout=30) as auth,
        httpx.AsyncClient(base_url=urls["catalog"], timeout=30) as catalog,
        httpx.AsyncClient(base_url=urls["inventory"], timeout=30) as inventory,
        httpx.AsyncClient(base_url=urls["orders"], timeout=30) as orders,
        httpx.AsyncClient(base_url=urls["reviews"], timeout=30) as reviews,
    ):
        user, admin = bearer(tokens.user), bearer(tokens.admin)
        # Accounts: a profile read and a wrong password.
        assert (await auth.get("/api/auth/me", headers=user)).status_code == 200
        refused = await auth.post(
            "/api/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"}
        )
        assert refused.status_code == 401, refused.text
        # Browsing and searching.
        for _ in range(5):
            assert (await catalog.get(f"/api/products/{kettle}")).status_code == 200
            found = await catalog.get("/api/products/search", params={"q": "Thing"})
            assert found.status_code == 200, found.text
        nothing = await catalog.get("/api/products/search", params={"q": "Zyxwvutsrqp"})
        assert nothing.status_code == 200 and nothing.json()["total"] == 0, nothing.text
        assert (await catalog.get(f"/api/products/{uuid.uuid4()}")).status_code == 404
        assert (await inventory.get(f"/api/inventory/{kettle}")).status_code == 200
        # A low-stock threshold the kettle's stock is under: a crossing.
        low = await inventory.put(
            f"/api/inventory/{kettle}",
            json={"on_hand": 10, "low_stock_threshold": 20},
            headers=admin,
        )
        assert low.status_code == 200, low.text
        # A cart filled, read and emptied.
        put = await orders.put(f"/api/cart/items/{kettle}", json={"quantity": 2}, headers=user)
        assert put.status_code == 200, put.text
        assert (await orders.get("/api/cart", headers=user)).status_code == 200
        assert (await orders.delete("/api/cart", headers=user)).status_code == 204
        # Checkouts: paid then fulfilled and refunded, paid then cancelled by the customer,
        # declined, rejected for want of stock, and the last unit sold (a stock-out).
        fulfilled = await _paid(orders, tokens.user, [(kettle, 1)])
        shipped = await orders.post(f"/api/orders/{fulfilled}/fulfil", headers=admin)
        assert shipped.status_code == 200, shipped.text
        refunded = await orders.post(f"/api/orders/{fulfilled}/cancel", headers=admin)
        assert refunded.status_code == 200, refunded.text
        cancelled = await _paid(orders, tokens.user, [(kettle, 1)])
        voided = await orders.post(f"/api/orders/{cancelled}/cancel", headers=user)
        assert voided.status_code == 200, voided.text
        declined = await place(orders, tokens.user, [(kettle, 1)], payment_token="tok_decline")
        assert declined.status_code == 202, declined.text
        await wait_status(orders, tokens.user, declined.json()["id"], "payment_failed")
        too_many = await place(orders, tokens.user, [(kettle, 1000)])
        assert too_many.status_code == 202, too_many.text
        await wait_status(orders, tokens.user, too_many.json()["id"], "rejected")
        await _paid(orders, tokens.user, [(last_one, 1)])
        # A review, and the product's reviews read.
        reviewer = bearer(await asyncio.to_thread(new_user_token, urls["auth"]))
        posted = await reviews.post(
            "/api/reviews",
            json={
                "product_id": str(kettle),
                "rating": 5,
                "title": "",
                "body": "Great kettle, boils fast and looks lovely on the counter.",
            },
            headers=reviewer,
        )
        assert posted.status_code == 201, posted.text
        listed = await reviews.get("/api/reviews", params={"product_id": str(kettle)})
        assert listed.status_code == 200, listed.text


async def _paid(orders: httpx.AsyncClient, token: str, lines: list[tuple[uuid.UUID, int]]) -> str:
    placed = await place(orders, token, lines)
    assert placed.status_code == 202, placed.text
    order_id: str = placed.json()["id"]
    await wait_status(orders, token, order_id, "paid")
    return order_id


def _series(url: str, expr: str) -> list[Any]:
    response = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10.0)
    body = response.json()
    # A query Prometheus cannot parse is a 400 with errorType bad_data: fail at once.
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[Any] = body["data"]["result"]
    return result


def _answered(url: str, queries: frozenset[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The queries that return at least one series now."""
    return {query for query in queries if _series(url, query[2])}


async def test_every_panel_returns_data_after_real_traffic(
    private_prometheus: tuple[str, dict[str, dict[str, Any]]],
    services: Services,
    callees: Callees,
    tokens: Tokens,
    h: Harness,
) -> None:
    url, dashboards = private_prometheus
    # Every dashboard the builder makes for the store, as helm installed them.
    assert {"overview.json", "operator.json", "service-orders.json"} <= set(dashboards)
    assert len(dashboards) >= 7
    await _traffic(services.urls, callees, tokens)

    pending = {
        (name, title, grafana_expr(
            expr,
            namespace=h.box.namespace,
            store=STORE,
            rate_interval=RATE_INTERVAL,
            servers=server_variables(model),
        ))
        for name, model in dashboards.items()
        for title, expr in panel_queries(model)
    }  # fmt: skip
    assert len(pending) > 100
    deadline = time.monotonic() + DATA_TIMEOUT
    while pending and time.monotonic() < deadline:
        answered = await asyncio.to_thread(_answered, url, frozenset(pending))
        pending -= answered
        if pending:
            await asyncio.sleep(2.0)
    assert not pending, "panels without data:\n" + "\n".join(
        f"{name} / {title}: {expr}" for name, title, expr in sorted(pending)
    )
