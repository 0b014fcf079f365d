"""devstack runs every service from its descriptor: nothing per service but the descriptor."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.component import Context
from devstack.components import ALL
from devstack.components.services import (
    SERVICES,
    AuthService,
    CatalogService,
    UvicornService,
    render_routes,
    service_component,
)
from devstack.paths import Paths
from productstore_contracts.descriptor import ServiceDescriptor
from productstore_contracts.services import DESCRIPTORS

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
