"""Rollouts of a ProductStore whose Pods run on the real node, under a light load.

manifests/samples/productstore-node.yaml (catalog at two fixed replicas, a short
progress deadline), reconciled by this checkout's operator as a process of the
test (devstack's runs main's code) in a namespace of its own. Each scenario runs a
bounded loop of catalog reads at the catalog's ClusterIP (kube-proxy routes this
machine's packets to the Pods), a new connection per request so every request is
routed afresh, and prints its failed requests:

- a catalog Pod deleted: a replacement serves;
- a version bump (the same images tagged again in the node's containerd) replaces
  every Pod with no failed request (preStop drain, maxUnavailable 0);
- a version without images: the rollout makes no progress, the operator rolls the
  release back (docs/adr/0040), and the store keeps serving the old version.

Other sessions apply their own ProductStore CRD to the shared apiserver; one
without this checkout's fields prunes them from the stored spec (the Pods would
land on kwok's node with the default deadline). Every wait checks the spec and,
when fields went, applies this checkout's CRD and the whole spec again.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from devstack.components.cassandra import Cassandra
from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from devstack.components.node import IMAGE_REGISTRY, Node, store_version
from devstack.components.openbao import OpenBao
from devstack.components.operator import NODE_IMAGE_REGISTRY, OPENBAO_POD_ADDR, PROJECT_REGISTRY
from productstore_operator.builders.values import IMAGE_PREFIX
from tests.operator.handlers.support import OperatorProcess, Sandbox, sandbox, wait_for
from tests.support.crd import install_generated_crd

# Serial in make test: zero failed requests through rollouts is a claim about an unloaded machine.
pytestmark = pytest.mark.serial

SAMPLE = Path(__file__).resolve().parents[2] / "manifests/samples/productstore-node.yaml"
STORE = "node"
READY_TIMEOUT = 600.0
# Long enough for a Pod's start on two busy cores (image unpack, migrations check,
# the Vault agent), short enough for the broken version to be given up in the test.
PROGRESS_DEADLINE = 90
# Catalog reads per second, and the longest any load loop runs.
RATE = 20.0
LOAD_LIMIT = 600.0
# A suffix of this run: the second version's tag, unused by anyone else.
RUN = uuid.uuid4().hex[:6]
# The images a store of the node sample runs: its services and the Vault agent.
IMAGES = ("auth", "catalog", "inventory", "reviews", "vault-agent", "gateway")


@dataclass
class Load:
    """GET /api/products at RATE per second until stopped (or LOAD_LIMIT)."""

    url: str
    sent: int = 0
    started: float = 0.0
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        self.started = time.monotonic()
        deadline = self.started + LOAD_LIMIT
        # No keep-alive: each request opens a connection kube-proxy routes now.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=5.0, limits=limits) as http:
            next_at = time.monotonic()
            while not self._stop.is_set() and time.monotonic() < deadline:
                self.sent += 1
                try:
                    response = http.get(f"{self.url}/api/products", params={"limit": 5})
                    if response.status_code != 200:
                        self._fail(f"{response.status_code} {response.text[:120]}")
                except httpx.HTTPError as exc:
                    self._fail(f"{type(exc).__name__}: {exc}")
                next_at += 1 / RATE
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _fail(self, what: str) -> None:
        # When, from the loop's start: to tell a rollout's failures from other causes.
        self.failures.append(f"{what} at {time.monotonic() - self.started:.1f}s")

    def __enter__(self) -> Load:
        self._thread = threading.Thread(target=self._run, name="catalog-load", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def report(self, scenario: str, seconds: float) -> str:
        kinds = sorted({f.split(":")[0].split(" at ")[0] for f in self.failures})
        line = (
            f"{scenario}: {len(self.failures)} failed of {self.sent} catalog reads "
            f"in {seconds:.0f} s {kinds}"
        )
        print(line)  # noqa: T201
        return line


@dataclass
class NodeStore:
    box: Sandbox
    operator: OperatorProcess
    node: Node
    version: str = field(default_factory=store_version)

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.box.api)

    def catalog_url(self) -> str:
        svc = self.core.read_namespaced_service(f"{STORE}-catalog", self.box.namespace)
        return f"http://{svc.spec.cluster_ip}:{svc.spec.ports[0].port}"

    def deployments(self) -> list[Any]:
        found = client.AppsV1Api(self.box.api).list_namespaced_deployment(self.box.namespace)
        return list(found.items)

    def images(self) -> dict[str, str]:
        return {
            d.metadata.name: d.spec.template.spec.containers[0].image for d in self.deployments()
        }

    def pods(self, service: str) -> list[Any]:
        found = self.core.list_namespaced_pod(
            self.box.namespace, label_selector=f"app.kubernetes.io/component={service}"
        )
        return [p for p in found.items if p.metadata.deletion_timestamp is None]

    def all_rolled_out(self, version: str) -> bool:
        for deployment in self.deployments():
            status, spec = deployment.status, deployment.spec
            if not deployment.spec.template.spec.containers[0].image.endswith(f":{version}"):
                return False
            if (status.observed_generation or 0) < deployment.metadata.generation:
                return False
            if (
                (status.updated_replicas or 0) < spec.replicas
                or (status.ready_replicas or 0) < spec.replicas
                or (status.replicas or 0) != spec.replicas
            ):
                return False
        return True

    def set_version(self, version: str) -> None:
        """The whole spec at ``version``: what a CRD swap pruned comes back too."""
        self.version = version
        self.box.patch_spec(STORE, _spec(version))

    def guard(self) -> dict[str, Any]:
        """The store; its spec restored (with this checkout's CRD) if fields went."""
        store = self.box.store(STORE) or {}
        catalog = ((store.get("spec") or {}).get("services") or {}).get("catalog") or {}
        if "rollout" not in catalog or "scheduling" not in (store.get("spec") or {}):
            print(  # noqa: T201
                f"{time.strftime('%H:%M:%S')} the store lost fields (another session's CRD): "
                "applying ours again"
            )
            install_generated_crd(self.box.api)
            self.set_version(self.version)
            store = self.box.store(STORE) or {}
        return store

    def wait_ready(self) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            store = self.guard()
            status = store.get("status") or {}
            wanted = store.get("metadata", {}).get("generation")
            if status.get("phase") == "Ready" and status.get("observedGeneration") == wanted:
                return store
            return None

        return wait_for(f"ProductStore {STORE} Ready", ready, timeout=READY_TIMEOUT)


def _spec(version: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["spec"]
    spec["version"] = version
    # Two fixed catalog replicas: one can go while the other serves.
    spec["services"]["catalog"] = {"replicas": 2}
    for name in ("auth", "catalog", "inventory", "reviews"):
        spec["services"][name]["rollout"] = {"progressDeadlineSeconds": PROGRESS_DEADLINE}
    return spec


@pytest.fixture(scope="module")
def node_store(  # noqa: PLR0917 (fixtures)
    kube_api: client.ApiClient,
    kube: KubeApiserver,
    helm: Helm,
    openbao: OpenBao,
    cassandra: Cassandra,
    real_node: Node,
    productstore_crd: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[NodeStore]:
    log_dir = tmp_path_factory.mktemp("rollouts-operator")
    with sandbox(kube_api, openbao) as box:
        operator = OperatorProcess(box, kube, helm, openbao, log_dir, resync_seconds=5.0)
        vaults = json.loads(operator.env["PRODUCTSTORE_OPERATOR_VAULTS"])
        # The node's Pods reach OpenBao where node-net relays it, as devstack's operator says.
        vaults[0]["podAddress"] = OPENBAO_POD_ADDR
        operator.env.update(
            {
                "PRODUCTSTORE_OPERATOR_VAULTS": json.dumps(vaults),
                "PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES": (
                    f"{PROJECT_REGISTRY},{NODE_IMAGE_REGISTRY}"
                ),
                "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE": "",
                # A broken version is not tried again while the test runs.
                "PRODUCTSTORE_OPERATOR_UPGRADE_RETRY_SECONDS": "3600",
            }
        )
        operator.start()
        store = NodeStore(box, operator, real_node)
        try:
            box.apply_store(STORE, _spec(store.version))
            started = time.monotonic()
            store.wait_ready()
            print(f"store Ready on the real node in {time.monotonic() - started:.0f} s")  # noqa: T201
            yield store
        finally:
            with contextlib.suppress(client.ApiException):
                box.custom.delete_namespaced_custom_object(
                    "productstore.io", "v1alpha1", box.namespace, "productstores", STORE
                )
            with contextlib.suppress(AssertionError):
                wait_for(f"{STORE} deleted", lambda: True if box.store(STORE) is None else None)
            operator.stop()
            tail = operator.logs()[-4000:]
            print(f"operator log tail:\n{tail}")  # noqa: T201


@contextlib.contextmanager
def tagged(node: Node, version: str) -> Iterator[None]:
    """The store's images also tagged ``version`` in the node's containerd (removed after)."""
    made: list[str] = []
    try:
        for image in IMAGES:
            source = f"{IMAGE_REGISTRY}/{IMAGE_PREFIX}{image}:{store_version()}"
            target = f"{IMAGE_REGISTRY}/{IMAGE_PREFIX}{image}:{version}"
            node.ctr("images", "tag", "--force", source, target)
            made.append(target)
        yield
    finally:
        for target in made:
            node.ctr("images", "rm", target)


def test_a_deleted_catalog_pod_is_replaced_and_the_other_serves(node_store: NodeStore) -> None:
    pods = node_store.pods("catalog")
    assert len(pods) == 2, [p.metadata.name for p in pods]
    victim = pods[0].metadata.name
    with Load(node_store.catalog_url()) as load:
        time.sleep(3)
        started = time.monotonic()
        node_store.core.delete_namespaced_pod(victim, node_store.box.namespace)

        def replaced() -> bool | None:
            now = node_store.pods("catalog")
            ready = [
                p
                for p in now
                if p.metadata.name != victim
                and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            ]
            return True if len(ready) == 2 else None

        wait_for("a replacement catalog Pod ready", replaced, timeout=300)
        replaced_in = time.monotonic() - started
        time.sleep(3)
    load.report("catalog Pod deleted", replaced_in)
    print(f"replacement ready {replaced_in:.1f} s after the delete")  # noqa: T201
    assert load.sent > RATE * 5
    # Bounded: the deleted Pod drains (preStop) while the other serves.
    assert len(load.failures) <= 5, load.failures[:10]


def test_a_version_bump_rolls_every_deployment_without_a_failed_request(
    node_store: NodeStore,
) -> None:
    version = f"{store_version()}-ro{RUN}"
    before = node_store.images()
    with tagged(node_store.node, version):
        with Load(node_store.catalog_url()) as load:
            time.sleep(2)
            started = time.monotonic()
            node_store.set_version(version)
            store = node_store.wait_ready()
            rolled_in = time.monotonic() - started
            time.sleep(2)
        print(f"{time.strftime('%H:%M:%S')} version bump done; failures: {load.failures}")  # noqa: T201
        load.report(f"version bump to {version}", rolled_in)
        print(f"every Deployment rolled out in {rolled_in:.0f} s")  # noqa: T201
        assert store["status"]["version"] == version
        assert node_store.all_rolled_out(version), node_store.images()
        assert set(node_store.images()) == set(before)
        for service in ("auth", "catalog", "inventory", "reviews"):
            for pod in node_store.pods(service):
                assert pod.spec.containers[0].image.endswith(f":{version}"), pod.metadata.name
        assert load.sent > RATE * 5
        assert load.failures == []
        # Back to the built version before the tag goes (the Pods would lose their image).
        node_store.set_version(store_version())
        node_store.wait_ready()


def test_a_version_without_images_is_rolled_back_and_the_store_keeps_serving(
    node_store: NodeStore,
) -> None:
    box, broken = node_store.box, f"{store_version()}-broken{RUN}"
    running = (box.store(STORE) or {})["status"]["version"]
    before = node_store.images()
    with Load(node_store.catalog_url()) as load:
        time.sleep(2)
        started = time.monotonic()
        node_store.set_version(broken)

        def rolled_back() -> dict[str, Any] | None:
            node_store.guard()
            ready = box.condition(STORE, "ServicesReady")
            if ready is None or ready["reason"] != "RolloutFailed":
                return None
            return ready if node_store.all_rolled_out(running) else None

        condition = wait_for(
            "the operator's rollback", rolled_back, timeout=PROGRESS_DEADLINE + 300
        )
        rolled_back_in = time.monotonic() - started
        time.sleep(3)
    load.report(f"broken version {broken} rolled back", rolled_back_in)
    print(f"rolled back {rolled_back_in:.0f} s after the spec change: {condition['message']}")  # noqa: T201
    message = condition["message"]
    assert "ProgressDeadlineExceeded" in message and "ErrImageNeverPull" in message, message
    assert "rolled back to revision" in message, message
    assert node_store.images() == before
    store = box.store(STORE) or {}
    assert store["status"]["version"] == running
    ready = box.condition(STORE, "Ready") or {}
    assert ready.get("status") == "False" and "ErrImageNeverPull" in ready.get("message", ""), ready
    events = box.wait_events(STORE, {"RolloutFailed", "RolledBack"})
    assert any(e.reason == "RolledBack" and e.type == "Warning" for e in events)
    assert load.sent > RATE * 5
    assert load.failures == []
    # The spec goes back to the version that runs: Ready again, no rollback left over.
    node_store.set_version(running)
    node_store.wait_ready()
