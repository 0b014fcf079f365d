"""manifests/operator: the kustomize install equals the chart's, and the apiserver accepts it.

`kubectl kustomize` is devstack's pinned kubectl (kustomize v5 built in); the
apiserver is devstack's (v1.34), where the output is validated by a server-side
dry run in a namespace that enforces Pod Security "restricted".
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.helm import Helm
from devstack.components.kube import KubeApiserver
from tests.support.helm import HelmCli
from tests.support.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZATION = REPO / "manifests" / "operator"
CHART = REPO / "charts" / "productstore-operator"
CRD = REPO / "crds" / "productstore.io_productstores.yaml"
NAMESPACE = "productstore-system"
# The labels that say which tool manages an object, the only intended difference.
TOOL_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def kubectl(kube: KubeApiserver) -> Kubectl:
    return Kubectl(kube)


@pytest.fixture(scope="module")
def built(kubectl: Kubectl) -> list[Manifest]:
    out = kubectl.run("kustomize", str(KUSTOMIZATION)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _key(doc: Manifest) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def _without_tool_labels(doc: Manifest) -> Manifest:
    doc = copy.deepcopy(doc)
    for labels in (doc["metadata"].get("labels"), doc["metadata"].get("annotations")):
        for key in TOOL_LABELS:
            (labels or {}).pop(key, None)
    if doc["kind"] == "Deployment":
        pod_labels = doc["spec"]["template"]["metadata"]["labels"]
        for key in TOOL_LABELS:
            pod_labels.pop(key, None)
    return doc


def test_kustomize_output_is_the_charts_default_install(
    built: list[Manifest], helm: Helm, tmp_path: Path
) -> None:
    rendered = HelmCli(helm, tmp_path).run(
        "template", "productstore", str(CHART), "--namespace", NAMESPACE,
        "--set", "fullnameOverride=productstore-operator",
    ).stdout  # fmt: skip
    chart = {_key(d): _without_tool_labels(d) for d in yaml.safe_load_all(rendered) if d}
    by_key = {_key(d): _without_tool_labels(d) for d in built}
    extra = {key: by_key.pop(key) for key in [("Namespace", NAMESPACE)]}
    crd = by_key.pop(("CustomResourceDefinition", "productstores.productstore.io"))

    assert by_key == chart
    assert crd == yaml.safe_load(CRD.read_text(encoding="utf-8"))
    namespace_labels = extra[("Namespace", NAMESPACE)]["metadata"]["labels"]
    assert namespace_labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(
        d["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kustomize" for d in built
    )


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    name = f"op-kustomize-{uuid.uuid4().hex[:10]}"
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }
    kubectl.run("create", "-f", "-", stdin=json.dumps(body))
    try:
        yield name
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def _moved_to(doc: Manifest, namespace: str) -> Manifest:
    """What an overlay with `namespace: <namespace>` does, so the dry run needs no real install."""
    doc = copy.deepcopy(doc)
    if "namespace" in doc["metadata"]:
        doc["metadata"]["namespace"] = namespace
    for subject in doc.get("subjects", []):
        subject["namespace"] = namespace
    return doc


def test_kustomize_output_is_accepted_by_the_apiserver(
    built: list[Manifest], kubectl: Kubectl, namespace: str
) -> None:
    docs = [_moved_to(d, namespace) for d in built if d["kind"] != "Namespace"]
    # Pods are admitted only if their ServiceAccount exists: it is created for real.
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump_all(accounts))
    deadline = time.monotonic() + 30
    while kubectl.run("get", "serviceaccount", "default", "-n", namespace, check=False).returncode:
        assert time.monotonic() < deadline, f"no default ServiceAccount in {namespace}"
        time.sleep(0.5)
    # Pod Security enforces on Pods, not on a Deployment's template: check a bare Pod.
    (deployment,) = (d for d in docs if d["kind"] == "Deployment")
    template = deployment["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator-pss", "namespace": namespace, **template["metadata"]},
        "spec": template["spec"],
    }
    others = [d for d in docs if d["kind"] != "ServiceAccount"]
    # Server-side, as the kustomization's comment tells users (the CRD is too big otherwise).
    result = kubectl.run(
        "apply", "--server-side", "--force-conflicts", "--field-manager=kustomize-dry-run",
        "--dry-run=server", "--validate=strict", "-f", "-",
        stdin=yaml.safe_dump_all([*others, pod]), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    accepted = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(others) + 1, result.stdout
