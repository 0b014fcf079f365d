"""devstack's `metrics-server`: the resource metrics API the HPAs read, a host process
on the real node's address registered with the apiserver's aggregator.

In `all` with the node it scrapes. Its tests on the real node use the node that runs,
which they never stop, and the metrics-server that runs (or one of their own): they
read node and Pod metrics through the apiserver, let an HPA shaped like
the chart's scale a catalog Deployment out under a bounded load loop and back in when
it stops, and check that `down` removes everything metrics-server applied and `up` puts it back.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from cryptography import x509

from devstack import cassandra_auth
from devstack.component import Context
from devstack.components import metrics_server as ms
from devstack.components import node as node_module
from devstack.components.kube_certs import ensure_pki, ensure_serving_cert
from devstack.components.kube_cluster import admin_api, pki_files
from devstack.components.metrics_server import MetricsServer
from devstack.components.node import NODE_NAME, REPO, TAINT, Node, service_image
from devstack.node_address import NODE_IP
from devstack.paths import Paths
from devstack.stack import Stack
from tests.devstack.test_node_net_component import _catalog_pod

T = TypeVar("T")
TEST_RANGES = [ipaddress.ip_network(n) for n in ("198.18.0.0/15", "198.51.100.0/24")]


def _stack(tmp_path: Path) -> Stack:
    return Stack(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))


def test_metrics_server_is_in_all_and_needs_the_node(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    component = stack.components["metrics-server"]
    assert isinstance(component, MetricsServer)
    assert "metrics-server" in stack.default_names()
    assert stack.expand(["metrics-server"])[-2:] == ["node", "metrics-server"]
    # Copies of the node's (components are independent of each other).
    assert ms.KUBELET_PORT == node_module.KUBELET_PORT
    node_argv = " ".join(Node(component.ctx).processes()[1].argv)
    assert f"--node-labels={ms.NODE_SELECTOR}," in node_argv


def test_it_serves_on_the_node_address_and_trusts_by_the_cluster_ca(tmp_path: Path) -> None:
    component = _stack(tmp_path).components["metrics-server"]
    assert isinstance(component, MetricsServer)
    pki = ensure_pki(
        pki_files(component.paths).dir, apiserver_dns_names=["localhost"], apiserver_ips=[]
    )
    component.__dict__["kubelet_tls"] = None  # as if the kubelet's certificate verified
    [spec] = component.processes()
    argv = list(spec.argv)
    assert f"--bind-address={NODE_IP}" in argv
    assert f"--kubelet-certificate-authority={pki.ca_cert}" in argv
    assert "--kubelet-insecure-tls" not in argv
    assert f"--node-selector={ms.NODE_SELECTOR}" in argv
    component.__dict__["kubelet_tls"] = "self-signed"
    assert "--kubelet-insecure-tls" in component.processes()[0].argv

    objects = {body["kind"]: body for _, body in component._cluster_objects()}
    api_service = objects["APIService"]["spec"]
    assert base64.b64decode(api_service["caBundle"]) == pki.ca_cert.read_bytes()
    assert api_service["insecureSkipTLSVerify"] is False
    assert api_service["service"] == {
        "namespace": "kube-system",
        "name": "metrics-server",
        "port": 443,
    }
    assert component._cluster_objects()[-1][1]["kind"] == "APIService", "applied last"
    assert "selector" not in objects["Service"]["spec"]
    [endpoint] = objects["EndpointSlice"]["endpoints"]
    assert endpoint["addresses"] == [NODE_IP]
    assert objects["EndpointSlice"]["ports"][0]["port"] == ms.SECURE_PORT
    text = json.dumps([b for _, b in component._cluster_objects()]) + " ".join(argv)
    for address in re.findall(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])", text):
        ip = ipaddress.ip_address(address)
        assert ip.is_loopback or any(ip in net for net in TEST_RANGES), address


def test_serving_certificates_chain_to_the_cluster_ca_and_name_the_node_address(
    tmp_path: Path,
) -> None:
    pki = ensure_pki(tmp_path / "pki", apiserver_dns_names=["localhost"], apiserver_ips=[])
    names = ms.serving_dns_names()
    ensure_serving_cert(pki, "serving", common_name="x", dns_names=names, ip_addresses=[NODE_IP])
    first = pki.cert("serving").read_bytes()
    ensure_serving_cert(pki, "serving", common_name="x", dns_names=names, ip_addresses=[NODE_IP])
    assert pki.cert("serving").read_bytes() == first, "kept while the names are the same"
    cert = x509.load_pem_x509_certificate(first)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "metrics-server.kube-system.svc" in sans.get_values_for_type(x509.DNSName)
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(NODE_IP)]
    assert cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC)
    # The kubelet gets one as well (node.py), so metrics-server can verify it at NODE_IP.
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    config = node._kubelet_config()
    assert config["tlsCertFile"].endswith(f"{node_module.KUBELET_SERVING_CERT}.crt")


def _tls_server(cert: Path, key: Path) -> tuple[socket.socket, threading.Thread]:
    """A TLS listener on loopback that completes handshakes with cert until closed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_the_kubelet_is_verified_only_with_a_certificate_from_the_ca_naming_its_address(
    tmp_path: Path,
) -> None:
    """The check that picks --kubelet-certificate-authority or --kubelet-insecure-tls,
    against real TLS servers: one with a certificate from the cluster CA for the address
    (what node.py now gives kubelet), one from another CA (kubelet's self-signed one)."""
    pki = ensure_pki(tmp_path / "pki", apiserver_dns_names=["localhost"], apiserver_ips=[])
    ensure_serving_cert(
        pki, "kubelet", common_name="k", dns_names=[NODE_NAME], ip_addresses=["127.0.0.1"]
    )
    other = ensure_pki(tmp_path / "other", apiserver_dns_names=["localhost"], apiserver_ips=[])
    ensure_serving_cert(
        other, "kubelet", common_name="k", dns_names=[NODE_NAME], ip_addresses=["127.0.0.1"]
    )
    for chain, expected in ((pki, None), (other, "does not verify at 127.0.0.1")):
        listener, thread = _tls_server(chain.cert("kubelet"), chain.key("kubelet"))
        try:
            port = listener.getsockname()[1]
            problem = ms.kubelet_tls_problem(str(pki.ca_cert), "127.0.0.1", port)
        finally:
            listener.close()
            thread.join(timeout=5)
        if expected is None:
            assert problem is None
        else:
            assert problem is not None and expected in problem, problem
    # Nobody listening: said so, not mistaken for a bad certificate.
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    problem = ms.kubelet_tls_problem(str(pki.ca_cert), "127.0.0.1", port)
    assert problem is not None and "does not answer TLS" in problem
    # No cluster CA (a stack whose control plane never ran): said so, not a crash of
    # everything that lists the component's processes (`down`, `status`).
    missing = tmp_path / "none" / "ca.crt"
    problem = ms.kubelet_tls_problem(str(missing), "127.0.0.1", port)
    assert problem == f"there is no cluster CA at {missing} to verify it with"


# --- on the real node ---------------------------------------------------------------
def _wait(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    every: float = 1.0,
    explain: Callable[[], str] | None = None,
) -> T:
    """probe's first truthy value within timeout; else an AssertionError that says what
    was awaited and, from explain, what the cluster showed at the end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} within {timeout:.0f} s" + (f"; {explain()}" if explain else ""))


def _cpu_nanocores(quantity: str) -> int:
    """A metrics API CPU quantity ("12345678n", "15m", "1") in nanocores."""
    units = {"n": 1, "u": 1_000, "m": 1_000_000}
    if quantity[-1] in units:
        return int(quantity[:-1]) * units[quantity[-1]]
    return int(float(quantity) * 1_000_000_000)


@pytest.fixture(scope="module")
def metrics_server(real_node: Node) -> Iterator[tuple[Stack, MetricsServer]]:
    """metrics-server against the running node: the one `make up` started, or one
    started for these tests and stopped at the end."""
    probe = Stack(Context(paths=Paths.from_env()))
    ours = not probe.is_running(probe.components["metrics-server"])
    # One started here dies with pytest; the one `make up` started, which a test below
    # stops and starts again, outlives this run as it did before.
    stack = Stack(Context(paths=Paths.from_env(), tie_to_parent=ours))
    component = stack.components["metrics-server"]
    assert isinstance(component, MetricsServer)
    if ours:
        # Only this component: `up` would provision the node again (its image builds).
        component.provision()
        result = stack._up_one(component)
        print(  # noqa: T201
            f"metrics-server ready in {result.ready_seconds:.1f} s; kubelet TLS: "
            f"{component.kubelet_tls or 'verified against the cluster CA'}"
        )
    try:
        yield stack, component
    finally:
        if ours:
            stack.down(["metrics-server"], dependents=False)


@pytest.fixture
def namespace() -> Iterator[str]:
    paths = Paths.from_env()
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    with admin_api(paths) as api:
        api.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        ).raise_for_status()
    try:
        yield name
    finally:
        with admin_api(paths) as api:
            api.delete(f"/api/v1/namespaces/{name}")


def _node_pod_spec(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "nodeSelector": {"kubernetes.io/hostname": NODE_NAME},
        "tolerations": [{**TAINT, "operator": "Equal"}],
        "terminationGracePeriodSeconds": 2,
        "containers": containers,
    }


def test_the_metrics_api_lists_the_node_and_a_running_pod(
    metrics_server: tuple[Stack, MetricsServer], namespace: str
) -> None:
    _, component = metrics_server
    paths = component.paths
    busy = "import time\nwhile True:\n    sum(range(200_000))\n    time.sleep(0.02)\n"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "busy"},
        "spec": _node_pod_spec(
            [
                {
                    "name": "busy",
                    "image": service_image("catalog"),
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", busy],
                    "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}},
                }
            ]
        ),
    }
    with admin_api(paths) as api:
        got = api.get(f"/apis/apiregistration.k8s.io/v1/apiservices/{ms.API_SERVICE}").json()
        # The apiserver leaves a false insecureSkipTLSVerify out.
        assert got["spec"].get("insecureSkipTLSVerify", False) is False
        assert base64.b64decode(got["spec"]["caBundle"]) == pki_files(paths).ca_cert.read_bytes()
        api.post(f"/api/v1/namespaces/{namespace}/pods", json=pod).raise_for_status()
        started = time.monotonic()

        def node_metrics() -> dict[str, Any] | None:
            response = api.get(f"/apis/{ms.API_GROUP}/{ms.API_VERSION}/nodes/{NODE_NAME}")
            return response.json() if response.status_code == 200 else None

        node = _wait("the node's metrics", node_metrics, 90)
        assert _cpu_nanocores(node["usage"]["cpu"]) > 0, node
        assert node["usage"]["memory"] not in ("0", "0Ki"), node
        listed = api.get(f"/apis/{ms.API_GROUP}/{ms.API_VERSION}/nodes").json()
        assert [n["metadata"]["name"] for n in listed["items"]] == [NODE_NAME], "not kwok's"

        last: list[str] = []

        def pod_metrics() -> dict[str, Any] | None:
            url = f"/apis/{ms.API_GROUP}/{ms.API_VERSION}/namespaces/{namespace}/pods/busy"
            response = api.get(url)
            last[:] = [f"HTTP {response.status_code} {response.text[:300]}"]
            if response.status_code != 200:
                return None
            metrics: dict[str, Any] = response.json()
            return metrics if _cpu_nanocores(metrics["containers"][0]["usage"]["cpu"]) else None

        try:
            metrics = _wait("the busy Pod's metrics with non-zero CPU", pod_metrics, 150)
        except AssertionError as exc:
            pod_now = api.get(f"/api/v1/namespaces/{namespace}/pods/busy").json()
            raise AssertionError(
                f"{exc}; last answer {last}; Pod {pod_now.get('status')}"
            ) from None
        phase = api.get(f"/api/v1/namespaces/{namespace}/pods/busy").json()["status"]["phase"]
    assert phase == "Running"
    cpu = _cpu_nanocores(metrics["containers"][0]["usage"]["cpu"])
    print(  # noqa: T201
        f"Pod metrics {time.monotonic() - started:.1f} s after its creation: "
        f"{cpu / 1e6:.1f}m CPU, window {metrics['window']}"
    )
    assert cpu > 5_000_000, metrics  # it burns a good share of a core, not a rounding error


class _Load:
    """A bounded load loop from this machine: `workers` threads GET `url` over new
    connections (so the Service spreads them over its Pods) until stopped, and never
    past `seconds`."""

    def __init__(self, url: str, *, workers: int, seconds: float) -> None:
        self.url = url
        self.deadline = time.monotonic() + seconds
        self.stopped = threading.Event()
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=5, limits=limits) as client:
            while not self.stopped.is_set() and time.monotonic() < self.deadline:
                try:
                    status = client.get(self.url).status_code
                except httpx.HTTPError:
                    with self._lock:
                        self.errors += 1
                    time.sleep(0.1)
                    continue
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        for thread in self._threads:
            thread.join(timeout=10)
        assert not any(t.is_alive() for t in self._threads)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _chart_readiness_probe() -> dict[str, Any]:
    """The readiness probe the chart gives every service (serviceDefaults.probes)."""
    values = yaml.safe_load((REPO / "charts/productstore/values.yaml").read_text())
    readiness = values["serviceDefaults"]["probes"]["readiness"]
    return {
        "httpGet": {"path": readiness["path"], "port": "http"},
        **{k: int(readiness[k]) for k in ("periodSeconds", "timeoutSeconds", "failureThreshold")},
    }


def _catalog_cpu(api: httpx.Client, namespace: str) -> dict[str, int] | str:
    """Each catalog Pod's CPU in nanocores as the metrics API reads it, or why not."""
    usage = api.get(
        f"/apis/{ms.API_GROUP}/{ms.API_VERSION}/namespaces/{namespace}/pods",
        params={"labelSelector": "app=catalog"},
    )
    if usage.status_code != 200:
        return f"{usage.status_code} {usage.text[:200]}"
    return {
        m["metadata"]["name"]: sum(_cpu_nanocores(c["usage"]["cpu"]) for c in m["containers"])
        for m in usage.json().get("items", [])
    }


def _hpa_scene(api: httpx.Client, namespace: str, status: dict[str, Any]) -> str:
    """What an HPA wait that ran out saw: the HPA's status and conditions, each catalog
    Pod's readiness (and when it last changed) and restarts, and the metrics API's CPU."""
    conditions = [
        f"{c.get('type')}={c.get('status')} ({c.get('reason')}: {c.get('message')})"
        for c in status.get("conditions") or []
    ]
    pods = api.get(
        f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=catalog"}
    ).json()
    described = []
    for pod in pods.get("items", []):
        pod_status = pod.get("status", {})
        ready: dict[str, Any] = next(
            (c for c in pod_status.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        restarts = sum(c.get("restartCount", 0) for c in pod_status.get("containerStatuses") or [])
        described.append(
            f"{pod['metadata']['name']} {pod_status.get('phase')} ready={ready.get('status')} "
            f"since {ready.get('lastTransitionTime')} restarts={restarts}"
        )
    cpu = _catalog_cpu(api, namespace)
    return (
        f"HPA replicas {status.get('currentReplicas')} -> {status.get('desiredReplicas')}, "
        f"metrics {status.get('currentMetrics')}, conditions {conditions}; Pods {described}; "
        f"metrics API CPU (nanocores) {cpu}"
    )


def _hpa(name: str, *, scale_down_window: int) -> dict[str, Any]:
    """Shaped like charts/productstore/templates/hpa.yaml renders it."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": scale_down_window}},
        },
    }


@pytest.mark.serial  # in make test: its load fills both cores for minutes
def test_an_hpa_scales_the_catalog_out_under_load_and_back_in(
    metrics_server: tuple[Stack, MetricsServer], namespace: str
) -> None:
    paths = metrics_server[1].paths
    suffix = namespace.removeprefix("metrics-")
    keyspace = f"catalog_hpa_{suffix}"
    role = cassandra_auth.ensure_keyspace_role(paths, "127.0.0.1", 9042, keyspace)
    assert role is not None, "devstack's Cassandra checks passwords"
    base = f"/api/v1/namespaces/{namespace}"
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    hpas = f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
    template = _catalog_pod(namespace, keyspace, suffix, kafka=False)
    [container] = template["spec"]["containers"]
    # The HPA's target is a share of this request (as the chart's Pods have one).
    container["resources"] = {
        "requests": {"cpu": "100m", "memory": "160Mi"},
        "limits": {"memory": "512Mi"},
    }
    # Readiness as the chart probes it. The HPA drops a Pod's CPU sample taken within
    # one metrics window of its last readiness change (for five minutes after start),
    # so a probe that flaps on one slow answer can keep it from ever reading the Pod.
    container["readinessProbe"] = _chart_readiness_probe()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "catalog", "labels": {"app": "catalog"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "catalog"}},
            "template": {"metadata": {"labels": {"app": "catalog"}}, "spec": template["spec"]},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "catalog"},
        "spec": {"selector": {"app": "catalog"}, "ports": [{"name": "http", "port": 8000}]},
    }
    try:
        with admin_api(paths) as api:
            api.post(
                f"{base}/secrets",
                json={
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "cassandra"},
                    "stringData": {"cassandra-password": role[1].read_text().strip()},
                },
            ).raise_for_status()
            api.post(f"{base}/services", json=service).raise_for_status()
            api.post(f"{apps}/deployments", json=deployment).raise_for_status()

            def running_pods() -> list[str]:
                pods = api.get(f"{base}/pods", params={"labelSelector": "app=catalog"}).json()
                return [
                    p["metadata"]["name"]
                    for p in pods["items"]
                    if p["status"].get("phase") == "Running"
                    and p["spec"].get("nodeName") == NODE_NAME
                    and "deletionTimestamp" not in p["metadata"]
                ]

            def ready() -> bool:
                got = api.get(f"{apps}/deployments/catalog").json()
                return bool(got.get("status", {}).get("readyReplicas") == 1)

            _wait("the catalog Deployment's first Pod Ready", ready, 240)

            def settled() -> dict[str, int] | None:
                """The Pod's start-up (migrations, the index load) is over: the HPA's first
                reading is then its idle CPU, not a burst that scales it out at once."""
                cpu = _catalog_cpu(api, namespace)
                if isinstance(cpu, dict) and len(cpu) == 1 and max(cpu.values()) < 50e6:
                    return cpu
                return None

            settling = time.monotonic()
            idle_cpu = _wait(
                "the metrics API reading the Pod's CPU below half its request",
                settled,
                180,
                explain=lambda: _hpa_scene(api, namespace, {}),
            )
            print(  # noqa: T201
                f"the Pod settled {time.monotonic() - settling:.1f} s after Ready: "
                f"{max(idle_cpu.values()) / 1e6:.1f}m CPU"
            )
            api.post(hpas, json=_hpa("catalog", scale_down_window=20)).raise_for_status()

            def hpa_status() -> dict[str, Any]:
                status: dict[str, Any] = api.get(f"{hpas}/catalog").json().get("status", {})
                return status

            def explain() -> str:
                return _hpa_scene(api, namespace, hpa_status())

            def idle() -> dict[str, Any] | None:
                """The HPA read the one Pod's CPU, below the target, and wants no more
                (the first window may still hold the Pod's start-up)."""
                status = hpa_status()
                metrics = status.get("currentMetrics") or []
                if not metrics or status.get("currentReplicas") != 1:
                    return None
                # {"type": ""} until the HPA has read a value.
                used = metrics[0].get("resource", {}).get("current", {}).get("averageUtilization")
                quiet = used is not None and used < 50 and status.get("desiredReplicas") == 1
                return status if quiet else None

            measured = time.monotonic()
            before = _wait(
                "the HPA reading the idle Pod's CPU below its target", idle, 240, explain=explain
            )
            print(  # noqa: T201
                f"HPA reads CPU {time.monotonic() - measured:.1f} s after its creation: "
                f"{before['currentMetrics'][0]['resource']['current']}"
            )
            cluster_ip = api.get(f"{base}/services/catalog").json()["spec"]["clusterIP"]
            assert ipaddress.ip_address(cluster_ip) in TEST_RANGES[0]
            url = f"http://{cluster_ip}:8000/api/products/search?q=phone&limit=20"

            with _Load(url, workers=4, seconds=300) as load:
                started = time.monotonic()

                def scaled() -> dict[str, Any] | None:
                    status = hpa_status()
                    return status if (status.get("desiredReplicas") or 0) > 1 else None

                out = _wait(
                    "the HPA scaling out (desiredReplicas > 1)", scaled, 300, explain=explain
                )
                scaled_out = time.monotonic() - started

                def several() -> list[str] | None:
                    pods = running_pods()
                    return pods if len(pods) > 1 else None

                pods = _wait(
                    "more than one catalog Pod Running on the node", several, 180, explain=explain
                )
                running = time.monotonic() - started
                load.stop()
            print(  # noqa: T201
                f"scale-out: HPA desired {out['desiredReplicas']} after {scaled_out:.1f} s of "
                f"load (utilisation {out['currentMetrics'][0]['resource']['current']}); "
                f"{len(pods)} Pods Running on the node after {running:.1f} s; "
                f"load: {load.statuses} answers, {load.errors} errors"
            )
            assert load.statuses.get(200, 0) > sum(load.statuses.values()) / 2, load.statuses

            stopped = time.monotonic()
            _wait(
                "the HPA scaling back in to one replica",
                lambda: (
                    hpa_status().get("desiredReplicas") == 1
                    and hpa_status().get("currentReplicas") == 1
                ),
                300,
                explain=explain,
            )
            scaled_in = time.monotonic() - stopped
            _wait(
                "one catalog Pod left Running",
                lambda: len(running_pods()) == 1,
                120,
                explain=explain,
            )
            print(  # noqa: T201
                f"scale-in: HPA back to 1 replica {scaled_in:.1f} s after the load stopped "
                f"(scale-down window 20 s), one Pod left after "
                f"{time.monotonic() - stopped:.1f} s"
            )
    finally:
        cassandra_auth.drop_keyspace_role(paths, "127.0.0.1", 9042, keyspace)


def test_down_removes_everything_it_applied_and_up_puts_it_back(
    metrics_server: tuple[Stack, MetricsServer],
) -> None:
    stack, component = metrics_server
    stack.down(["metrics-server"], dependents=False)
    assert not stack.is_running(component)
    with admin_api(component.paths) as api:
        left = [url for url, _ in component._cluster_objects() if api.get(url).status_code != 404]
        discovery = api.get("/apis").json()
    assert left == [], left
    assert ms.API_GROUP not in {g["name"] for g in discovery["groups"]}
    node = stack.components["node"]
    assert stack.is_running(node), "the node keeps running"
    # Started again (registered once it answers), as the stack had it.
    stack._up_one(component)
    with admin_api(component.paths) as api:
        discovery = api.get("/apis").json()
    assert ms.API_GROUP in {g["name"] for g in discovery["groups"]}
