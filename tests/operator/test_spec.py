"""The ProductStore spec and status models: samples, valid and invalid specs, helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.models import (
    API_VERSION,
    IMPLEMENTED_SERVICES,
    KIND,
    SERVICE_NAMES,
    CassandraSpec,
    ProductStoreSpec,
    ProductStoreStatus,
    ServicesSpec,
)
from productstore_operator.models.mesh import ServiceTrafficOverrides
from tests.operator.spec_cases import (
    INVALID,
    SAMPLES,
    VALID,
    Invalid,
    load_sample,
    minimal_spec,
    spec_with,
)


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_parses(name: str) -> None:
    document = load_sample(name)
    assert document["apiVersion"] == API_VERSION
    assert document["kind"] == KIND
    spec = ProductStoreSpec.model_validate(document["spec"])
    # The model's own output is valid input: the operator may round-trip specs.
    assert ProductStoreSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_minimal_sample_is_only_what_a_user_must_choose() -> None:
    spec = minimal_spec()
    # Kafka and Redis too: the operator creates neither yet, so only their addresses work.
    # No Vault: the operator's "default" one; where it is is the operator's to say.
    assert set(spec) == {"version", "kafka", "redis"}
    assert set(spec["kafka"]) == {"bootstrapServers"}
    assert set(spec["redis"]) == {"url"}
    for required in spec:
        with pytest.raises(ValidationError) as excinfo:
            ProductStoreSpec.model_validate({k: v for k, v in spec.items() if k != required})
        assert excinfo.value.errors()[0]["loc"] == (required,)


def _unset_fields(model: BaseModel, given: Any, path: str) -> list[str]:
    """Dotted aliases of model fields that ``given`` (the raw sample) leaves out."""
    missing = []
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        where = f"{path}.{key}".lstrip(".")
        if not isinstance(given, dict) or key not in given:
            missing.append(where)
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            missing += _unset_fields(value, given[key], where)
    return missing


def test_full_sample_sets_every_field() -> None:
    raw = load_sample("productstore-full")["spec"]
    spec = ProductStoreSpec.model_validate(raw)
    # Overrides and per-service objectives are partial by design: orders shows every
    # override field and auth every objective field, below.
    partial = ("istio.services.", "observability.slos.")
    missing = {m for m in _unset_fields(spec, raw, "") if not m.startswith(partial)}
    # Fields the rules forbid beside the others; the sample's header says where they are.
    allowed = {"cassandra.external", "cassandra.replication.replicationFactor"}
    # And the removed Vault fields, which the operator refuses.
    allowed |= {f"vault.{field}" for field, _ in REMOVED_VAULT_FIELDS}
    assert missing <= allowed, f"productstore-full.yaml leaves out {sorted(missing - allowed)}"
    orders = spec.istio.services.get("orders")
    assert orders is not None
    assert not _unset_fields(orders, raw["istio"]["services"]["orders"], "")
    auth = raw["observability"]["slos"]["auth"]
    assert not _unset_fields(spec.observability.slos.get("auth"), auth, "")


@pytest.mark.parametrize("changes", VALID.values(), ids=VALID.keys())
def test_valid_spec(changes: dict[str, Any]) -> None:
    ProductStoreSpec.model_validate(spec_with(changes))


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_invalid_spec_names_the_field(case: Invalid) -> None:
    with pytest.raises(ValidationError) as excinfo:
        ProductStoreSpec.model_validate(spec_with(case.changes))
    errors = excinfo.value.errors()
    assert [e["loc"] for e in errors] == [case.loc], errors
    assert case.model_message in errors[0]["msg"]


# Where a Vault is, how to log in and where the roles and secrets go were once
# the store's to say: the operator would send its token to any address a store
# gave. The schema keeps the fields (a stored store's value is neither pruned
# nor refused by the apiserver) and the operator refuses them.
REMOVED_VAULT_FIELDS = [
    ("address", "http://attacker.example:8200"),
    ("authMount", "kubernetes"),
    ("kvMount", "secret"),
    ("kvPath", "productstore"),
    ("rolePrefix", "productstore"),
]


@pytest.mark.parametrize(
    ("field", "value"), REMOVED_VAULT_FIELDS, ids=[f for f, _ in REMOVED_VAULT_FIELDS]
)
def test_a_store_cannot_say_where_vault_is(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        ProductStoreSpec.model_validate(spec_with({f"vault.{field}": value}))
    (error,) = excinfo.value.errors()
    assert error["loc"] == ("vault",)
    assert "are the operator's configuration now (its chart's vault.servers)" in error["msg"]
    assert f"(given: {field})" in error["msg"]


@pytest.mark.parametrize("key", ["-pool", "example.com/", "a/b/c", "UPPER.example/x", "x" * 64])
def test_a_node_selector_key_that_is_no_label_key_is_refused(key: str) -> None:
    # A structural schema cannot constrain map keys: the operator refuses it, naming it.
    with pytest.raises(ValidationError) as excinfo:
        ProductStoreSpec.model_validate(spec_with({"scheduling.nodeSelector": {key: "x"}}))
    (error,) = excinfo.value.errors()
    assert error["loc"] == ("scheduling",)
    assert f"scheduling.nodeSelector: {key!r} is not a label key" in error["msg"]


def test_node_selector_keys_kubernetes_accepts_are_accepted() -> None:
    selector = {"kubernetes.io/hostname": "n-1", "pool": "", "a.example.com/Zone_1.b": "eu"}
    spec = ProductStoreSpec.model_validate(spec_with({"scheduling.nodeSelector": selector}))
    assert spec.scheduling.node_selector == selector


def test_defaults() -> None:
    spec = ProductStoreSpec.model_validate(minimal_spec())
    # Only the services whose code exists run by default.
    assert (
        spec.services.enabled()
        == list(IMPLEMENTED_SERVICES)
        == ["auth", "catalog", "orders", "inventory", "wishlist", "reviews", "notifications"]
    )
    catalog = spec.services.get("catalog")
    assert (catalog.replicas, catalog.autoscaling.enabled) == (2, False)
    assert catalog.resources.requests.cpu == "100m"
    assert catalog.resources.limits.cpu is None
    # The values the chart used to disagree on (issue 9), decided once here.
    assert (catalog.resources.requests.memory, catalog.resources.limits.memory) == (
        "192Mi",
        "512Mi",
    )
    assert catalog.autoscaling.max_replicas == 5
    # The operator's Vault called "default", its agent injector on.
    assert (spec.vault.name, spec.vault.injector.enabled) == ("default", True)
    traffic = spec.istio.traffic
    assert (traffic.retries.per_try_timeout, traffic.timeout) == ("3s", "10s")
    breaker = traffic.circuit_breaker
    assert (breaker.max_connections, breaker.http1_max_pending_requests) == (1024, 1024)
    assert spec.cassandra.mode == "k8ssandra"
    assert spec.cassandra.deletion_policy == "Retain"
    assert (spec.kafka.mode, spec.redis.mode) == ("external", "external")
    assert (spec.istio.enabled, spec.istio.mtls_mode) == (True, "STRICT")
    assert spec.tracing.endpoint is None
    assert spec.image.registry == "ghcr.io/productstore"


def test_integer_quantities_become_strings() -> None:
    spec = ProductStoreSpec.model_validate(spec_with(VALID["quantities-as-integers"]))
    requests = spec.services.get("catalog").resources.requests
    assert (requests.cpu, requests.memory) == ("1", "1")


def test_services_model_lists_every_service_in_order() -> None:
    assert tuple(ServicesSpec.model_fields) == SERVICE_NAMES
    # Every service with a descriptor (with code) has its field, and only those are built.
    described = [descriptor.name for descriptor in DESCRIPTORS]
    assert set(described) <= set(SERVICE_NAMES)
    assert set(IMPLEMENTED_SERVICES) == set(described)
    assert tuple(ServiceTrafficOverrides.model_fields) == SERVICE_NAMES
    services = ServicesSpec.model_validate({"orders": {"enabled": False}})
    assert [name for name, _ in services.items()] == list(SERVICE_NAMES)
    assert "orders" not in services.enabled()
    with pytest.raises(KeyError, match="unknown service 'payments'"):
        services.get("payments")


@pytest.mark.parametrize(
    ("cassandra", "expected"),
    [
        ({}, {"class": "NetworkTopologyStrategy", "dc1": 3}),
        ({"k8ssandra": {"datacenter": {"name": "east", "size": 1}}}, {"east": 1}),
        ({"k8ssandra": {"datacenter": {"size": 5}}}, {"dc1": 3}),
        (
            {"k8ssandra": {"datacenter": {"size": 5}}, "replication": {"datacenters": {"dc1": 5}}},
            {"dc1": 5},
        ),
        (
            {"replication": {"class": "SimpleStrategy", "replicationFactor": 2}},
            {"class": "SimpleStrategy", "replication_factor": 2},
        ),
        (
            {
                "mode": "external",
                "external": {"contactPoints": ["db"], "localDatacenter": "a"},
                "replication": {"datacenters": {"a": 3, "b": 2}},
            },
            {"a": 3, "b": 2},
        ),
    ],
)
def test_replication_options(cassandra: dict[str, Any], expected: dict[str, Any]) -> None:
    options = CassandraSpec.model_validate(cassandra).replication_options()
    assert options == {"class": "NetworkTopologyStrategy", **expected}


def test_traffic_overrides_inherit_unset_fields() -> None:
    spec = ProductStoreSpec.model_validate(load_sample("productstore-full")["spec"])
    istio = spec.istio
    assert istio.traffic_for("auth") == istio.traffic
    catalog = istio.traffic_for("catalog")
    assert catalog.retries.attempts == 3
    assert catalog.retries.per_try_timeout == istio.traffic.retries.per_try_timeout
    assert catalog.timeout == istio.traffic.timeout
    assert catalog.circuit_breaker == istio.traffic.circuit_breaker
    orders = istio.traffic_for("orders")
    assert (orders.timeout, orders.retries.retry_on) == ("5s", "connect-failure")
    assert orders.circuit_breaker.consecutive_5xx_errors == 3
    assert istio.traffic_for("recommendations").timeout == "500ms"
    with pytest.raises(KeyError):
        istio.traffic_for("payments")


def test_models_are_immutable() -> None:
    spec = ProductStoreSpec.model_validate(minimal_spec())
    with pytest.raises(ValidationError, match="frozen"):
        spec.version = "9.9.9"


def test_status_round_trip() -> None:
    moment = datetime(2025, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    status = ProductStoreStatus.model_validate(
        {
            "observedGeneration": 3,
            "phase": "Ready",
            "version": "0.1.0",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "AllComponentsReady",
                    "message": "every service is available",
                    "lastTransitionTime": moment,
                    "observedGeneration": 3,
                }
            ],
            "services": {"catalog": {"desiredReplicas": 2, "readyReplicas": 1}},
        }
    )
    dumped = status.model_dump(mode="json", exclude_none=True)
    # metav1.Time: UTC, whole seconds.
    assert dumped["conditions"][0]["lastTransitionTime"] == "2025-05-01T10:30:15Z"
    assert dumped["services"] == {"catalog": {"desiredReplicas": 2, "readyReplicas": 1}}
    assert ProductStoreStatus.model_validate(dumped).condition("Ready") is not None
    assert status.condition("CassandraReady") is None


@pytest.mark.parametrize(
    ("condition", "loc"),
    [
        ({"status": "Maybe"}, ("conditions", 0, "status")),
        ({"reason": "not camel case"}, ("conditions", 0, "reason")),
        ({"lastTransitionTime": datetime(2025, 5, 1)}, ("conditions", 0, "lastTransitionTime")),
    ],
)
def test_invalid_condition(condition: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    base = {
        "type": "Ready",
        "status": "True",
        "reason": "Ok",
        "message": "",
        "lastTransitionTime": datetime.now(UTC),
    }
    with pytest.raises(ValidationError) as excinfo:
        ProductStoreStatus.model_validate({"conditions": [{**base, **condition}]})
    assert [e["loc"] for e in excinfo.value.errors()] == [loc]
