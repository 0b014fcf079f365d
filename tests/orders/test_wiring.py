"""orders is run, routed and deployed from its descriptor: devstack's process and nginx
routes, and the chart's generated values (`make generate`) follow from it."""

from __future__ import annotations

from pathlib import Path

import yaml

from devstack.component import Context
from devstack.components.services import SERVICES, render_routes
from devstack.paths import Paths
from productstore_contracts.services import ORDERS

REPO = Path(__file__).resolve().parents[2]


def test_devstack_runs_and_routes_it(tmp_path: Path) -> None:
    (component_class,) = [s for s in SERVICES if s.descriptor is ORDERS]
    component = component_class(
        Context(paths=Paths(cache=tmp_path / "cache", state=tmp_path / "state"))
    )
    assert (component.port, component.url) == (8103, "http://127.0.0.1:8103")
    env = component.process_spec().env
    assert env["ORDERS_CASSANDRA_KEYSPACE"] == "productstore_orders"
    assert env["ORDERS_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["ORDERS_JWT_JWKS_URL"].endswith("/api/auth/.well-known/jwks.json")
    routes = render_routes(component.name, component.route_prefixes)
    # Each path itself (GET /api/cart, POST /api/orders) and everything under it.
    for match in ("= /api/cart", "/api/cart/", "= /api/orders", "/api/orders/"):
        assert f"location {match} {{" in routes


def test_the_chart_defaults_deploy_and_route_it() -> None:
    values = yaml.safe_load((REPO / "charts/productstore/values.yaml").read_text())
    orders = values["services"]["orders"]
    assert orders["enabled"] is True
    assert set(orders["paths"].values()) == {"/api/cart", "/api/orders"}
    # The gateway and wishlist (to-cart) call orders; orders calls auth, the catalog and
    # inventory.
    assert {name for name, ok in orders["allowedCallers"].items() if ok} == {
        "gateway",
        "wishlist",
    }
    for callee in ("auth", "catalog", "inventory"):
        assert values["services"][callee]["allowedCallers"]["orders"] is True
