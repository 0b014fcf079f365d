"""manifests/kind: the cluster config pins the Kubernetes devstack runs, and the
OpenBao and ProductStore manifests of the kind path pass the real apiserver's checks."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.components.kube import KUBERNETES_VERSION, KubeApiserver
from tests.support.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]
KIND = REPO / "manifests" / "kind"
CRD = REPO / "crds" / "productstore.io_productstores.yaml"


def _docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((KIND / name).read_text(encoding="utf-8")) if d]


def test_cluster_nodes_run_devstacks_kubernetes_minor_pinned_by_digest() -> None:
    (config,) = _docs("cluster.yaml")
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    minor = ".".join(KUBERNETES_VERSION.split(".")[:2])
    images = {node["image"] for node in config["nodes"]}
    assert len(images) == 1
    (image,) = images
    assert re.fullmatch(rf"kindest/node:{re.escape(minor)}\.\d+@sha256:[0-9a-f]{{64}}", image)
    assert config["networking"]["apiServerAddress"] == "127.0.0.1"


@pytest.fixture
def namespace(kube: KubeApiserver) -> Iterator[tuple[Kubectl, str]]:
    kubectl = Kubectl(kube)
    name = f"kind-manifests-{uuid.uuid4().hex[:10]}"
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
        yield kubectl, name
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false", check=False)


# Serial in make test: it applies the committed CRD over the one every other test installed.
@pytest.mark.serial
def test_openbao_and_sample_are_accepted(namespace: tuple[Kubectl, str]) -> None:
    kubectl, name = namespace
    # The committed CRD, as the chart and `devstack up operator` install it.
    kubectl.run("apply", "--server-side", "--force-conflicts", "--field-manager=devstack",
                "-f", str(CRD))  # fmt: skip
    kubectl.run("wait", "--for=condition=Established", "--timeout=60s", "-f", str(CRD))
    docs = []
    for doc in _docs("openbao-dev.yaml") + _docs("productstore-kind.yaml"):
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
            continue
        if "namespace" in doc["metadata"] or doc["kind"] == "ProductStore":
            doc["metadata"]["namespace"] = name
        for subject in doc.get("subjects", []):
            subject["namespace"] = name
        docs.append(doc)
    result = kubectl.run(
        "apply", "--dry-run=server", "--validate=strict", "-f", "-",
        stdin=yaml.safe_dump_all(docs), check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # The Deployment's pod template would pass "restricted" (warn only reports).
    assert "Warning" not in result.stderr, result.stderr
    assert result.stdout.count("(server dry run)") == len(docs), result.stdout
