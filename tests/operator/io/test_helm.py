"""Helm (the operator's helm runner) against devstack's helm and apiserver."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from devstack.components.helm import Helm as HelmComponent
from devstack.components.kube import KubeApiserver
from productstore_operator.io.helm import Helm, chart_digest

CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"


def runner(helm: HelmComponent, kube: KubeApiserver) -> Helm:
    return Helm(str(helm.binary), CHART, kube.kubeconfig, concurrency=2)


def test_a_missing_release_has_no_history(
    helm: HelmComponent, kube: KubeApiserver, namespace: str
) -> None:
    assert asyncio.run(runner(helm, kube).history("nothing", namespace)) == []


def test_values_the_chart_refuses_fail_with_helms_message(
    helm: HelmComponent, kube: KubeApiserver, namespace: str
) -> None:
    async def attempt() -> tuple[bool, str, list[object]]:
        helm_runner = runner(helm, kube)
        ok, error = await helm_runner.upgrade(
            "bad", namespace, {"services": {"auth": {"replicas": "two"}}}, "stamp"
        )
        return ok, error, list(await helm_runner.history("bad", namespace))

    ok, error, history = asyncio.run(attempt())
    assert not ok
    assert "replicas" in error
    assert history == []


def test_the_chart_digest_follows_its_files(tmp_path: Path) -> None:
    copy = tmp_path / "chart"
    shutil.copytree(CHART, copy)
    before = chart_digest(copy)
    assert before == chart_digest(CHART)
    (copy / "templates" / "NOTES.txt").write_text("changed\n")
    assert chart_digest(copy) != before
