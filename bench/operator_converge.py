"""Benchmark: ProductStore apply-to-Ready on devstack, and the operator's cost.

Runs against devstack's `operator` component (it and what it needs are
started here if not running, and those are stopped again):

- one store of the devstack sample (the services that have code, auth and
  catalog, two Pods each);
- one small store (one Pod each of auth and catalog);
- twenty small stores in twenty namespaces, created at once.

For each: seconds from create to Ready (the contract's readiness: phase
Ready, condition Ready True, status of the current generation) and from
delete to gone; the operator's CPU seconds per reconcile pass (process CPU
time over `productstore_operator_reconciles_total`); and its resident memory,
sampled throughout. Same-run baseline: one `helm template` of
charts/productstore, the CPU-bound floor of a reconcile's helm step, so
numbers compare across noisy machines as ratios.

Output: JSON on stdout and in bench/results/operator-converge.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from prometheus_client.parser import text_string_to_metric_families

from devstack.component import Context
from devstack.components.operator import (
    HELM_VERSION,
    METRICS_URL,
    ProductStoreOperator,
    grant_object,
)
from devstack.paths import Paths
from devstack.process import read_pid_file
from devstack.stack import Stack
from productstore_operator.models import IMPLEMENTED_SERVICES

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "operator-converge.json"
SAMPLE = REPO / "manifests" / "samples" / "productstore-devstack.yaml"
CHART = REPO / "charts" / "productstore"
GROUP, VERSION, PLURAL = "productstore.io", "v1alpha1", "productstores"
STORE = "bench"
MANY = 20
TIMEOUT = 900.0


def _store(small: bool) -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    body["metadata"] = {"name": STORE}
    if small:
        body["spec"]["services"] = {s: {"replicas": 1} for s in IMPLEMENTED_SERVICES}
    return body


def _ready(store: dict[str, Any] | None) -> bool:
    status = (store or {}).get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return (
        status.get("phase") == "Ready"
        and bool(ready)
        and ready[0]["status"] == "True"
        and status.get("observedGeneration") == (store or {})["metadata"]["generation"]
    )


class Bench:
    def __init__(self, api: client.ApiClient, operator: psutil.Process) -> None:
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.operator = operator
        self.peak_rss = operator.memory_info().rss
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()

    def _sample_rss(self) -> None:
        while self._sampling:
            self.peak_rss = max(self.peak_rss, self.operator.memory_info().rss)
            time.sleep(0.2)

    def close(self) -> None:
        self._sampling = False
        self._sampler.join()

    def _get(self, namespace: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, STORE
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def _wait_all(self, namespaces: list[str], done: Callable[[dict[str, Any] | None], bool],
                  started: float) -> dict[str, float]:  # fmt: skip
        """Seconds from `started` until done(store) for each namespace (polled every 0.25 s)."""
        seconds: dict[str, float] = {}
        deadline = started + TIMEOUT
        while len(seconds) < len(namespaces):
            if time.monotonic() > deadline:
                late = sorted(set(namespaces) - set(seconds))
                raise RuntimeError(f"not converged after {TIMEOUT:.0f}s: {late}")
            for ns in namespaces:
                if ns not in seconds and done(self._get(ns)):
                    seconds[ns] = time.monotonic() - started
            time.sleep(0.25)
        return seconds

    def run(self, count: int, *, small: bool) -> dict[str, Any]:
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        namespaces = [f"store-{prefix}-{i:02d}" for i in range(count)]
        rbac = client.RbacAuthorizationV1Api(self.core.api_client)
        for ns in namespaces:
            self.core.create_namespace({"metadata": {"name": ns}})
            # devstack's operator acts only where it is granted.
            rbac.create_namespaced_role_binding(ns, grant_object(ns))
        try:
            cpu_before, reconciles_before = _cpu_seconds(self.operator), _reconciles()
            started = time.monotonic()
            for ns in namespaces:
                self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, ns, PLURAL, _store(small)
                )
            ready = sorted(self._wait_all(namespaces, _ready, started).values())
            cpu = _cpu_seconds(self.operator) - cpu_before
            reconciles = _reconciles() - reconciles_before
            started = time.monotonic()
            for ns in namespaces:
                self.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, STORE)
            gone = sorted(self._wait_all(namespaces, lambda s: s is None, started).values())
        finally:
            for ns in namespaces:
                self.core.delete_namespace(ns)
        return {
            "stores": count,
            "pods_per_store": (1 if small else 2) * len(IMPLEMENTED_SERVICES),
            "ready_seconds": _summary(ready),
            "delete_to_gone_seconds": _summary(gone),
            "reconcile_passes": reconciles,
            "operator_cpu_seconds": round(cpu, 2),
            "cpu_seconds_per_reconcile": round(cpu / reconciles, 3) if reconciles else None,
        }


def _summary(values: list[float]) -> dict[str, float]:
    if len(values) == 1:
        return {"value": round(values[0], 2)}
    return {
        "first": round(values[0], 2),
        "median": round(statistics.median(values), 2),
        "p90": round(values[int(0.9 * (len(values) - 1))], 2),
        "last": round(values[-1], 2),
    }


def _cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of the operator and its children (helm runs as a child)."""
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _reconciles() -> int:
    text = httpx.get(METRICS_URL, timeout=5).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "productstore_operator_reconciles":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return int(total)


def _helm_template_seconds(paths: Paths) -> float:
    helm = paths.artifacts / f"helm-{HELM_VERSION}" / "helm"
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HELM_CACHE_HOME": home, "HELM_CONFIG_HOME": home}
        started = time.monotonic()
        subprocess.run(
            [str(helm), "template", "baseline", str(CHART)],
            env=env, capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        return time.monotonic() - started


def main() -> int:
    paths = Paths.from_env()
    stack = Stack(Context(paths=paths))
    component = stack.components[ProductStoreOperator.name]
    # The operator and whatever it needs that was not running (stopped again at the end).
    results = stack.up([ProductStoreOperator.name])
    started_here = [r.name for r in results if r.action == "started"]
    try:
        process = read_pid_file(component.pid_file(ProductStoreOperator.name))
        if process is None:
            sys.stderr.write("bench: the operator component is not running\n")
            return 2
        kubeconfig = paths.component_dir("kube-apiserver") / "admin.kubeconfig"
        api = config.new_client_from_config(config_file=str(kubeconfig))
        bench = Bench(api, process)
        try:
            rss_idle = process.memory_info().rss
            baseline = round(_helm_template_seconds(paths), 3)
            single_full = bench.run(1, small=False)
            single_small = bench.run(1, small=True)
            many_small = bench.run(MANY, small=True)
        finally:
            bench.close()
            api.close()
    finally:
        if started_here:
            stack.down(started_here, dependents=False)
    report = {
        "benchmark": "operator-converge",
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]},
        "baseline": {"helm_template_seconds": baseline},
        "one_full_store": single_full,
        "one_small_store": single_small,
        f"{MANY}_small_stores": many_small,
        "operator_rss_mb": {
            "idle": round(rss_idle / 2**20, 1),
            "peak": round(bench.peak_rss / 2**20, 1),
        },
        f"{MANY}_stores_last_ready_vs_helm_template": round(
            many_small["ready_seconds"]["last"] / baseline, 1
        ),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
