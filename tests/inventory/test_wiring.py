"""inventory is run, routed and deployed from its descriptor alone: devstack's process
and nginx routes, and the chart's generated values (`make generate`) follow from it."""

from __future__ import annotations

from pathlib import Path

import yaml

from devstack.component import Context
from devstack.components.services import SERVICES, render_routes
from devstack.paths import Paths
from productstore_contracts.services import INVENTORY

REPO = Path(__file__).resolve().parents[2]


def test_devstack_runs_and_routes_it(tmp_path: Path) -> None:
    (component_class,) = [s for s in SERVICES if s.descriptor is INVENTORY]
    component = component_class(
        Context(paths=Paths(cache=tmp_path / "cache", state=tmp_path / "state"))
    )
    assert (component.port, component.url) == (8104, "http://127.0.0.1:8104")
    assert component.requires == ("cassandra", "kafka", "redis", "nginx", "jaeger", "auth")
    env = component.process_spec().env
    assert env["INVENTORY_CASSANDRA_KEYSPACE"] == "productstore_inventory"
    assert env["INVENTORY_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert env["INVENTORY_JWT_JWKS_URL"].endswith("/api/auth/.well-known/jwks.json")
    routes = render_routes(component.name, component.route_prefixes)
    # The path itself (GET /api/inventory/{id} lives below) and everything under it.
    for match in ("= /api/inventory", "/api/inventory/"):
        assert f"location {match} {{" in routes


def test_the_chart_defaults_deploy_and_route_it() -> None:
    values = yaml.safe_load((REPO / "charts/productstore/values.yaml").read_text())
    inventory = values["services"]["inventory"]
    assert inventory["enabled"] is True
    assert inventory["paths"] == {"inventory": "/api/inventory"}
    callers = {name for name, allowed in inventory["allowedCallers"].items() if allowed}
    # orders reads what a cart can still get.
    assert callers == {"gateway", "orders"}
    # It verifies tokens with auth's JWKS, so auth lets it in.
    assert values["services"]["auth"]["allowedCallers"]["inventory"] is True
