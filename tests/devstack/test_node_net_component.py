"""devstack's `node-net`: the real node's address with a relay to the loopback
dependencies, Kafka's listener for Pods there, and the `devstack` namespace's Services
that name them; on the real node, a catalog Pod from the image built here
becomes Ready against devstack's real Cassandra and Redis (and Kafka, once Kafka runs
with its PODS listener).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from devstack import cassandra_auth
from devstack.component import Context
from devstack.components import cassandra, jaeger, openbao, redis
from devstack.components import kafka as kafka_module
from devstack.components.kube_cluster import admin_api
from devstack.components.node import (
    DEPENDENCY_NAMESPACE,
    DEPENDENCY_SERVICES,
    NODE_NAME,
    TAINT,
    Node,
    service_image,
)
from devstack.components.node_net import NodeNet
from devstack.node_address import KAFKA_PODS_PORT, NODE_IP, RELAYED, has_node_address
from devstack.paths import Paths
from devstack.pytest_plugin import DevstackSession
from devstack.stack import Stack

T = TypeVar("T")


def test_node_net_is_on_with_devstack_and_relays_to_loopback(tmp_path: Path) -> None:
    stack = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    component = stack.components["node-net"]
    assert isinstance(component, NodeNet)
    assert "node-net" in stack.default_names(), "Kafka's PODS listener needs it at its start"
    assert stack.expand(["node-net"]) == ["node-net"], "it needs nothing else running"
    order = list(stack.components)
    assert order.index("node-net") < order.index("kafka"), "`make up` starts it first"
    [spec] = component.processes()
    assert spec.argv[1:4] == ["-m", "devstack.node_relay", NODE_IP]
    assert spec.argv[4:] == [f"{port}=127.0.0.1:{port}" for port in RELAYED.values()]
    # Copies of the components' ports (components are independent of each other).
    assert RELAYED == {
        "cassandra": cassandra.CQL_PORT,
        "redis": redis.PORT,
        "openbao": openbao.PORT,
        "otlp-grpc": jaeger.OTLP_GRPC_PORT,
        "otlp-http": jaeger.OTLP_HTTP_PORT,
    }
    if has_node_address():
        assert {str(e) for e in component.endpoints().values()} == {
            f"{NODE_IP}:{port}" for port in RELAYED.values()
        }
    else:  # a connection to it would leave the machine: no port can be checked there
        assert component.endpoints() == {}


def test_down_of_a_stack_with_another_state_leaves_the_running_address(
    devstack: DevstackSession, tmp_path: Path
) -> None:
    """The link is machine-wide, a stack's state is not: `down` of every component of a
    stack that runs nothing (a test's own state directory) leaves devstack's address
    and relay where they are; the real node's Pods reach their dependencies through it."""
    devstack.require("node-net")
    assert has_node_address()
    other = Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    assert other.down() == []
    assert has_node_address(), "a stack with another state directory took the address away"
    socket.create_connection((NODE_IP, RELAYED["redis"]), timeout=5).close()


def test_kafka_listens_for_pods_only_where_node_net_made_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = kafka_module.Kafka(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    monkeypatch.setattr(kafka_module, "has_node_address", lambda: True)
    properties = dict(
        line.split("=", 1) for line in kafka._server_properties().splitlines()[1:] if "=" in line
    )
    assert properties["listeners"] == (
        f"PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,PODS://{NODE_IP}:{KAFKA_PODS_PORT}"
    )
    # Each client is sent back to the listener it came in by.
    assert properties["advertised.listeners"] == (
        f"PLAINTEXT://127.0.0.1:9092,PODS://{NODE_IP}:{KAFKA_PODS_PORT}"
    )
    assert properties["inter.broker.listener.name"] == "PLAINTEXT"
    assert "PODS:PLAINTEXT" in properties["listener.security.protocol.map"]
    assert "pods" in kafka.endpoints()

    monkeypatch.setattr(kafka_module, "has_node_address", lambda: False)
    properties = dict(
        line.split("=", 1) for line in kafka._server_properties().splitlines()[1:] if "=" in line
    )
    assert "PODS" not in properties["listeners"] + properties["advertised.listeners"]
    assert "pods" not in kafka.endpoints()


def test_pods_find_every_dependency_by_name_at_the_node_address(tmp_path: Path) -> None:
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    objects = [
        body
        for _, body in node._cluster_objects()
        if body["metadata"].get("namespace") == DEPENDENCY_NAMESPACE
    ]
    services = {b["metadata"]["name"]: b for b in objects if b["kind"] == "Service"}
    slices = {
        b["metadata"]["labels"]["kubernetes.io/service-name"]: b
        for b in objects
        if b["kind"] == "EndpointSlice"
    }
    assert set(services) == {"cassandra", "redis", "openbao", "otlp", "kafka"} == set(slices)
    for name, service in services.items():
        assert "selector" not in service["spec"], "no Pods behind it: the slice is set by hand"
        endpoints = slices[name]
        assert [e["addresses"] for e in endpoints["endpoints"]] == [[NODE_IP]]
        # kube-proxy sends the Service port to the slice's port of the same name.
        by_name = {p["name"]: p["port"] for p in endpoints["ports"]}
        for port in service["spec"]["ports"]:
            assert by_name[port["name"]] == port["targetPort"]
    assert services["kafka"]["spec"]["ports"][0]["port"] == 9092
    assert slices["kafka"]["ports"][0]["port"] == KAFKA_PODS_PORT, "Kafka's own PODS listener"
    relayed = {
        p["port"]
        for name in ("cassandra", "redis", "openbao", "otlp")
        for p in slices[name]["ports"]
    }
    assert relayed == set(RELAYED.values()), "every other one through the relay"
    assert DEPENDENCY_SERVICES["kafka"] == {"kafka": (9092, KAFKA_PODS_PORT)}


# --- on the real node -------------------------------------------------------------
def _wait(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def _kafka_has_pods_listener() -> bool:
    try:
        socket.create_connection((NODE_IP, KAFKA_PODS_PORT), timeout=2).close()
    except OSError:
        return False
    return True


def _dns(name: str) -> str:
    return f"{name}.{DEPENDENCY_NAMESPACE}.svc.cluster.local"


def _catalog_pod(
    namespace: str, keyspace: str, suffix: str, *, kafka: bool = True
) -> dict[str, Any]:
    env = {
        "ENVIRONMENT": "development",
        "MIGRATE_ON_START": "true",
        "CASSANDRA_CONTACT_POINTS": _dns("cassandra"),
        "CASSANDRA_KEYSPACE": keyspace,
        "CASSANDRA_USERNAME": keyspace,
        # The role's password as a file from a Secret, never in the environment.
        "CASSANDRA_PASSWORD_FILE": "/var/run/secrets/productstore/cassandra-password",
        "CASSANDRA_CONSISTENCY": "ONE",
        "REDIS_URL": f"redis://{_dns('redis')}:6379/0",
        "REDIS_KEY_PREFIX": f"catalog-node-{suffix}",
        "OTLP_ENDPOINT": f"http://{_dns('otlp')}:4318",
        "KAFKA_BOOTSTRAP_SERVERS": f"{_dns('kafka')}:9092",
        "SEARCH_CONSUMER_GROUP_PREFIX": f"catalog-node-{suffix}",
        # Read when a token is verified, which this Pod is never asked to do (auth is
        # not reachable from Pods yet); the kit requires the setting at start.
        "JWT_JWKS_URL": f"http://{_dns('auth')}:8101/api/auth/.well-known/jwks.json",
        # Its own Pod's topics exist already; the shared groups belong to devstack's catalog.
        "CREATE_TOPICS": "false",
        "CONSUME_STOCK": "false",
        "CONSUME_RATINGS": "false",
    }
    if not kafka:
        # Without Kafka the index loads after this wait (Kafka down keeps reads up).
        env["SEARCH_CONSUMER_START_TIMEOUT_SECONDS"] = "3"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "catalog", "namespace": namespace, "labels": {"app": "catalog"}},
        "spec": {
            "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
            "tolerations": [{**TAINT, "operator": "Equal"}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 5,
            "containers": [
                {
                    "name": "catalog",
                    "image": service_image("catalog"),
                    "imagePullPolicy": "Never",
                    "env": [{"name": f"CATALOG_{k}", "value": v} for k, v in env.items()],
                    "ports": [{"containerPort": 8000, "name": "http"}],
                    "readinessProbe": {
                        "httpGet": {"path": "/readyz", "port": "http"},
                        "periodSeconds": 2,
                        "failureThreshold": 1,
                    },
                    "volumeMounts": [
                        {
                            "name": "cassandra",
                            "mountPath": "/var/run/secrets/productstore",
                            "readOnly": True,
                        }
                    ],
                }
            ],
            "volumes": [{"name": "cassandra", "secret": {"secretName": "cassandra"}}],
        },
    }


@pytest.mark.usefixtures("kafka")
def test_a_catalog_pod_from_the_built_image_is_ready_against_devstack_and_consumes_kafka(
    real_node: Node,
) -> None:
    """Cassandra (through the relay, by name), Redis, its search index and Kafka (through
    its PODS listener): the readiness probe passes and the Pod's search consumer joins
    its group, with the container from containerd and no restart."""
    paths = Paths.from_env()
    node = real_node
    assert _kafka_has_pods_listener(), (
        f"Kafka has no PODS listener on {NODE_IP}:{KAFKA_PODS_PORT}: it was started "
        "before node-net; `devstack down kafka && devstack up node-net kafka`"
    )
    suffix = uuid.uuid4().hex[:8]
    namespace = f"node-catalog-{suffix}"
    keyspace = f"catalog_node_{suffix}"
    role = cassandra_auth.ensure_keyspace_role(paths, "127.0.0.1", 9042, keyspace)
    assert role is not None, "devstack's Cassandra checks passwords"
    try:
        with admin_api(paths) as api:
            api.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            ).raise_for_status()
            base = f"/api/v1/namespaces/{namespace}"
            api.post(
                f"{base}/secrets",
                json={
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "cassandra"},
                    "stringData": {"cassandra-password": role[1].read_text().strip()},
                },
            ).raise_for_status()
            started = time.monotonic()
            pod_body = _catalog_pod(namespace, keyspace, suffix)
            api.post(f"{base}/pods", json=pod_body).raise_for_status()

            def ready() -> dict[str, Any] | None:
                pod: dict[str, Any] = api.get(f"{base}/pods/catalog").json()
                statuses = pod.get("status", {}).get("containerStatuses") or []
                if statuses and statuses[0]["restartCount"] > 0:
                    log = api.get(f"{base}/pods/catalog/log", params={"previous": "true"})
                    raise AssertionError(f"the catalog container restarted: {log.text[-2000:]}")
                conditions = pod.get("status", {}).get("conditions") or []
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                    return pod
                return None

            pod = _wait("the catalog Pod Ready (its readiness probe passed)", ready, 180)
            print(f"catalog Pod Ready in {time.monotonic() - started:.1f} s")  # noqa: T201
            [status] = pod["status"]["containerStatuses"]
            assert status["ready"] is True and status["restartCount"] == 0, status
            container_id = status["containerID"]
            assert container_id.startswith("containerd://")
            assert container_id.removeprefix("containerd://") in node.ctr("containers", "ls", "-q")
            assert status["image"].endswith(service_image("catalog").split("/", 1)[1])

            # What the probe saw: the Pod's /readyz, asked at its IP from this machine.
            readyz = httpx.get(f"http://{pod['status']['podIP']}:8000/readyz", timeout=10)
            assert readyz.status_code == 200, readyz.text
            checks = readyz.json()["checks"]
            assert checks["cassandra"]["status"] == "ok", checks
            assert checks["search_index"]["status"] == "ok", checks
            # Its migrations ran against devstack's Cassandra, through the relay.
            with cassandra_auth.session("127.0.0.1", 9042, cassandra_auth.superuser(paths)) as db:
                tables = db.execute(
                    "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
                    (keyspace,),
                ).all()
            assert {"products"} <= {row.table_name for row in tables}, tables

            admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})

            def joined() -> list[str]:
                groups = admin.list_consumer_groups().result(timeout=10).valid
                prefix = f"catalog-node-{suffix}"
                return [g.group_id for g in groups if g.group_id.startswith(prefix)]

            groups = _wait("the Pod's search consumer in Kafka", joined, 90)
            print(f"the Pod joined Kafka as {groups}")  # noqa: T201
            # Still the first container, never restarted.
            final = api.get(f"{base}/pods/catalog").json()["status"]["containerStatuses"][0]
            assert (final["containerID"], final["restartCount"]) == (container_id, 0)
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{namespace}")
            # The node stays: its Pod leaves the consumer group only once it is gone.
            _wait(
                f"namespace {namespace} gone",
                lambda: api.get(f"/api/v1/namespaces/{namespace}").status_code == 404,
                120,
            )
        cassandra_auth.drop_keyspace_role(paths, "127.0.0.1", 9042, keyspace)
        admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
        listed = admin.list_consumer_groups().result(timeout=10).valid
        ours = [g.group_id for g in listed if g.group_id.startswith(f"catalog-node-{suffix}")]
        if ours:
            for future in admin.delete_consumer_groups(ours).values():
                future.result(timeout=30)
