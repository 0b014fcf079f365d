"""operator/Dockerfile agrees with what runs it: devstack's helm, the Makefile's uv,
the chart's user, ports and chart path. (No Docker here to build it: CI's kind
end-to-end test does.)"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from devstack.components import helm
from productstore_operator.config import RuntimeConfig

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "operator" / "Dockerfile").read_text(encoding="utf-8")
CHART_VALUES = yaml.safe_load((REPO / "charts/productstore-operator/values.yaml").read_text())


def _arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert match, f"no ARG {name} in operator/Dockerfile"
    return match.group(1)


def test_helm_is_devstacks_helm() -> None:
    assert _arg("HELM_VERSION") == helm.HELM_VERSION
    assert _arg("HELM_COMMIT") == helm.HELM_COMMIT


def test_uv_is_the_makefiles_uv() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    (pinned,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert _arg("UV_VERSION") == pinned
    # From PyPI (no second registry), as services/Dockerfile has it.
    assert (
        'pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"' in DOCKERFILE
    )


def test_layers_dependencies_under_the_operators_code() -> None:
    """The third-party layer is made from the pyproject files and uv.lock only; the
    operator's own code is copied after it (devstack's node builds it with buildah)."""
    deps = DOCKERFILE.index("--no-install-workspace --package productstore-operator")
    assert DOCKERFILE.index("COPY operator operator") > deps
    assert _arg("BASE_IMAGE") == "python:3.11.11-slim-bookworm"
    assert _arg("HELM_IMAGE") == "helm-from-source"
    assert "FROM golang:1.26-bookworm AS helm-from-source" in DOCKERFILE


def test_runtime_matches_the_chart() -> None:
    # The chart's pod runs as 10001 with a read-only root filesystem.
    assert re.search(r"^USER 10001$", DOCKERFILE, re.MULTILINE)
    assert "--uid 10001" in DOCKERFILE
    # The ports the image exposes are the operator's defaults, which the chart keeps.
    defaults = RuntimeConfig()
    ports = CHART_VALUES["ports"]
    assert (defaults.metrics_port, defaults.health_port) == (ports["metrics"], ports["health"])
    assert f"EXPOSE {defaults.metrics_port} {defaults.health_port}" in DOCKERFILE
    # The services' chart is where the operator is told to find it.
    assert "COPY charts/productstore /opt/productstore/charts/productstore" in DOCKERFILE
    assert "PRODUCTSTORE_OPERATOR_CHART=/opt/productstore/charts/productstore" in DOCKERFILE
    assert 'ENTRYPOINT ["productstore-operator"]' in DOCKERFILE
