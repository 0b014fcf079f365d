"""The charts' rendered manifests against a security policy: privilege, host access, limits, RBAC.

Two checkers over the same renderings (each chart with its defaults and with
the test's full values): kube-score (a maintained linter, provisioned by
devstack) with the checks below, and this file's own rules for what kube-score
does not look at (non-root, privilege escalation, capabilities, host
namespaces and paths, wildcard RBAC). Both are generic over whatever templates
exist; each is shown to catch a manifest that breaks its rules.
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.kube_score import KubeScore
from tests.support.helm import HelmCli

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
RENDERINGS = {
    "productstore-defaults": (REPO / "charts" / "productstore", None),
    "productstore-full": (REPO / "charts" / "productstore", HERE / "values-full.yaml"),
    "productstore-gateway": (REPO / "charts" / "productstore", HERE / "values-gateway.yaml"),
    "operator-defaults": (REPO / "charts" / "productstore-operator", None),
    "operator-full": (
        REPO / "charts" / "productstore-operator",
        HERE / "values-operator-full.yaml",
    ),
}

# kube-score's checks that are not this policy, each with the reason; every other
# default check (and the optional seccomp one) must pass, warnings included.
KUBE_SCORE_IGNORED = {
    # Network isolation is the chart's networkPolicy option (on in values-full)
    # next to the mesh's AuthorizationPolicies, not a property of every rendering.
    "pod-networkpolicy": "an option of the chart",
    # Images are pinned by tag; IfNotPresent is the chart's default on purpose.
    "container-image-pull-policy": "pinned tags, IfNotPresent by design",
    # Scheduling preferences, not security: the chart leaves them to the user.
    "deployment-has-host-podantiaffinity": "a scheduling preference",
    # The operator runs one replica with the Recreate strategy, so two operators
    # never reconcile the same store at once.
    "deployment-replicas": "one operator by design",
    "deployment-strategy": "Recreate: never two operators",
    # The operator serves no traffic: its readiness gates nothing.
    "pod-probes-identical": "the operator serves no traffic",
    # A NodePort is the store's gateway's opt-in way in where no load balancer is
    # (gateway.service.type; ClusterIP by default), as on devstack's real node.
    "service-type": "NodePort is an opt-in of the gateway",
    # The root filesystem is read-only and the one writable volume (/tmp) is an
    # emptyDir with a sizeLimit, which the rules below require.
    "container-ephemeral-storage-request-and-limit": "read-only root, sized emptyDirs",
}
KUBE_SCORE_ARGS = [
    # No CPU limit by default: throttling hurts latency more than a noisy
    # neighbour (operator/src/productstore_operator/models/services.py); CPU is
    # requested and memory is limited, which the rules below require too.
    "--ignore-container-cpu-limit",
    "--enable-optional-test",
    "container-seccomp-profile",
    "--exit-one-on-warning",
    "--output-format",
    "ci",
    "--kubernetes-version",
    "v1.34",
    *(arg for test in KUBE_SCORE_IGNORED for arg in ("--ignore-test", test)),
]

Manifest = dict[str, Any]
POD_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


@pytest.fixture(scope="module")
def rendered(helm: Helm, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each rendering as helm prints it (no cluster: helm's default capabilities)."""
    cli = HelmCli(helm, tmp_path_factory.mktemp("helm-home-policy"))
    out = {}
    for name, (chart, values) in RENDERINGS.items():
        args = ["--values", str(values)] if values else []
        out[name] = cli.run("template", "policy", str(chart), *args).stdout
    return out


def _docs(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _pod_spec(doc: Manifest) -> Manifest | None:
    path = POD_TEMPLATE_PATHS.get(doc.get("kind", ""))
    if path is None:
        return None
    spec: Manifest = doc
    for key in path:
        spec = spec.get(key) or {}
    return spec


def _containers(pod: Manifest) -> Iterator[Manifest]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _container_violations(where: str, pod: Manifest, container: Manifest) -> Iterator[str]:
    pod_context = pod.get("securityContext") or {}
    context = container.get("securityContext") or {}
    where = f"{where} container {container.get('name')}"
    if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
        yield f"{where}: runAsNonRoot is not true"
    if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
        yield f"{where}: runAsUser is 0"
    if context.get("privileged") is True:
        yield f"{where}: privileged"
    if context.get("allowPrivilegeEscalation") is not False:
        yield f"{where}: allowPrivilegeEscalation is not false"
    if context.get("readOnlyRootFilesystem") is not True:
        yield f"{where}: readOnlyRootFilesystem is not true"
    capabilities = context.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        yield f"{where}: capabilities do not drop ALL"
    if capabilities.get("add"):
        yield f"{where}: capabilities add {capabilities['add']}"
    for port in container.get("ports") or []:
        if port.get("hostPort"):
            yield f"{where}: hostPort {port['hostPort']}"
    resources = container.get("resources") or {}
    for kind, name in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
        if not (resources.get(kind) or {}).get(name):
            yield f"{where}: no {name} {kind}"


def _pod_violations(where: str, pod: Manifest) -> Iterator[str]:
    for field in HOST_NAMESPACES:
        if pod.get(field) is True:
            yield f"{where}: {field}"
    for volume in pod.get("volumes") or []:
        if "hostPath" in volume:
            yield f"{where}: hostPath volume {volume.get('name')}"
        if "emptyDir" in volume and not (volume["emptyDir"] or {}).get("sizeLimit"):
            yield f"{where}: emptyDir {volume.get('name')} without sizeLimit"
    for container in _containers(pod):
        yield from _container_violations(where, pod, container)


def _rbac_violations(where: str, doc: Manifest) -> Iterator[str]:
    for index, rule in enumerate(doc.get("rules") or []):
        for field in ("verbs", "resources", "apiGroups", "nonResourceURLs", "resourceNames"):
            if "*" in (rule.get(field) or []):
                yield f"{where}: rule {index} has {field} '*'"


def policy_violations(docs: list[Manifest]) -> list[str]:
    """Every breach of the policy in docs, one line each naming the object."""
    found: list[str] = []
    for doc in docs:
        where = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        pod = _pod_spec(doc)
        if pod is not None:
            found += _pod_violations(where, pod)
        if doc.get("kind") in ("Role", "ClusterRole"):
            found += _rbac_violations(where, doc)
    return found


def _kube_score(kube_score: KubeScore, manifests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(kube_score.binary), "score", *KUBE_SCORE_ARGS, "-"],
        input=manifests,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", RENDERINGS)
def test_rendering_passes_kube_score(
    rendered: dict[str, str], kube_score: KubeScore, name: str
) -> None:
    result = _kube_score(kube_score, rendered[name])
    findings = [
        line for line in result.stdout.splitlines() if line.startswith(("[CRITICAL]", "[WARNING]"))
    ]
    assert result.returncode == 0 and not findings, "\n".join(findings) or result.stderr


@pytest.mark.parametrize("name", RENDERINGS)
def test_rendering_passes_the_policy(rendered: dict[str, str], name: str) -> None:
    docs = _docs(rendered[name])
    assert any(_pod_spec(doc) is not None for doc in docs), "no workload rendered"
    assert policy_violations(docs) == []


def _first_workload(rendered: dict[str, str]) -> Manifest:
    return next(
        doc for doc in _docs(rendered["productstore-defaults"]) if doc["kind"] == "Deployment"
    )


def _container(doc: Manifest) -> Manifest:
    container: Manifest = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _pod(doc: Manifest) -> Manifest:
    pod: Manifest = doc["spec"]["template"]["spec"]
    return pod


Breach = Callable[[Manifest], None]

# One breach each, applied to a compliant Deployment the chart renders.
BREACHES: dict[str, tuple[Breach, str]] = {
    "root": (lambda d: _container(d)["securityContext"].update(runAsNonRoot=False), "runAsNonRoot"),
    "uid 0": (lambda d: _container(d)["securityContext"].update(runAsUser=0), "runAsUser is 0"),
    "privileged": (
        lambda d: _container(d)["securityContext"].update(privileged=True),
        "privileged",
    ),
    "escalation": (
        lambda d: _container(d)["securityContext"].pop("allowPrivilegeEscalation"),
        "allowPrivilegeEscalation",
    ),
    "writable root": (
        lambda d: _container(d)["securityContext"].update(readOnlyRootFilesystem=False),
        "readOnlyRootFilesystem",
    ),
    "capabilities kept": (
        lambda d: _container(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "drop ALL",
    ),
    "capability added": (
        lambda d: _container(d)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
        "capabilities add",
    ),
    "host network": (lambda d: _pod(d).update(hostNetwork=True), "hostNetwork"),
    "host pid": (lambda d: _pod(d).update(hostPID=True), "hostPID"),
    "host ipc": (lambda d: _pod(d).update(hostIPC=True), "hostIPC"),
    "host path": (
        lambda d: (
            _pod(d).setdefault("volumes", []).append({"name": "root", "hostPath": {"path": "/"}})
        ),
        "hostPath volume root",
    ),
    "unbounded emptyDir": (
        lambda d: _pod(d).setdefault("volumes", []).append({"name": "scratch", "emptyDir": {}}),
        "emptyDir scratch without sizeLimit",
    ),
    "host port": (
        lambda d: (
            _container(d).setdefault("ports", []).append({"containerPort": 8000, "hostPort": 80})
        ),
        "hostPort 80",
    ),
    "no memory limit": (
        lambda d: _container(d)["resources"]["limits"].pop("memory"),
        "memory limits",
    ),
    "no cpu request": (lambda d: _container(d)["resources"]["requests"].pop("cpu"), "cpu requests"),
    "bare sidecar": (
        lambda d: _pod(d)["containers"].append(
            {**copy.deepcopy(_container(d)), "name": "sidecar", "securityContext": {}}
        ),
        "container sidecar: ",
    ),
}


@pytest.mark.parametrize("breach", BREACHES)
def test_the_policy_catches(rendered: dict[str, str], breach: str) -> None:
    doc = _first_workload(rendered)
    assert policy_violations([doc]) == []
    apply, expected = BREACHES[breach]
    apply(doc)
    found = policy_violations([doc])
    assert found and all(expected in line for line in found), found


@pytest.mark.parametrize("field", ["verbs", "resources", "apiGroups"])
def test_the_policy_catches_wildcard_rbac(field: str) -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], field: ["*"]}
    for kind in ("Role", "ClusterRole"):
        role = {"kind": kind, "metadata": {"name": "too-wide"}, "rules": [rule]}
        assert policy_violations([role]) == [f"{kind} too-wide: rule 0 has {field} '*'"]


@pytest.mark.parametrize(
    ("breach", "expected"),
    [
        (lambda c: c["securityContext"].update(privileged=True), "The container is privileged"),
        (
            lambda c: c["securityContext"].update(readOnlyRootFilesystem=False),
            "writable root filesystem",
        ),
        (lambda c: c["securityContext"].update(runAsUser=0), "low user ID"),
        (lambda c: c["resources"]["limits"].pop("memory"), "Memory limit is not set"),
    ],
    ids=["privileged", "writable root", "uid 0", "no memory limit"],
)
def test_kube_score_as_run_here_catches(
    rendered: dict[str, str], kube_score: KubeScore, breach: Breach, expected: str
) -> None:
    docs = _docs(rendered["productstore-defaults"])
    workload = next(doc for doc in docs if doc["kind"] == "Deployment")
    breach(_container(workload))
    result = _kube_score(kube_score, yaml.safe_dump_all(docs))
    assert result.returncode == 1, result.stdout
    findings = [line for line in result.stdout.splitlines() if line.startswith("[CRITICAL]")]
    assert findings and all(expected in line for line in findings), findings
