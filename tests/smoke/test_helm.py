"""helm smoke tests: lint a tiny chart; install, upgrade and uninstall it on our apiserver."""

from __future__ import annotations

import contextlib
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from devstack.components.helm import HELM_VERSION, Helm
from devstack.components.kube import KubeApiserver
from tests.support.helm import HelmCli

CHART = Path(__file__).parent / "charts" / "hello"


def test_helm_version_and_lint(helm: Helm, tmp_path: Path) -> None:
    cli = HelmCli(helm, tmp_path)
    assert cli.run("version", "--template", "{{.Version}}").stdout.strip() == HELM_VERSION
    lint = cli.run("lint", "--strict", str(CHART))
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout


@pytest.fixture
def core_api(kube_api: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(kube_api)


def _namespace_gone(core: k8s.CoreV1Api, namespace: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        time.sleep(1)
    return False


def test_install_upgrade_uninstall(
    helm: Helm, kube: KubeApiserver, core_api: k8s.CoreV1Api, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:10]
    namespace = f"helm-smoke-{suffix}"
    release = f"hello-{suffix}"
    cli = HelmCli(helm, tmp_path, kube.kubeconfig)
    in_ns = ("--namespace", namespace)
    wait = ("--wait", "--timeout", "120s")
    try:
        cli.run(
            "install", release, str(CHART), *in_ns, "--create-namespace",
            "--set", f"greeting=hi-{suffix}", *wait,
        )  # fmt: skip
        releases = cli.json("list", *in_ns)
        assert [(r["name"], r["status"], r["revision"]) for r in releases] == [
            (release, "deployed", "1")
        ]
        config = core_api.read_namespaced_config_map(f"{release}-hello", namespace)
        assert config.data == {"greeting": f"hi-{suffix}", "revision": "1"}
        # --wait returned only once the Deployment's (kwok-faked) pod was available.
        apps = k8s.AppsV1Api(core_api.api_client)
        deployment = apps.read_namespaced_deployment(f"{release}-hello", namespace)
        assert deployment.status.available_replicas == 1

        cli.run("upgrade", release, str(CHART), *in_ns, "--set", f"greeting=bye-{suffix}", *wait)
        history = cli.json("history", release, *in_ns)
        assert [(h["revision"], h["status"]) for h in history] == [
            (1, "superseded"),
            (2, "deployed"),
        ]
        config = core_api.read_namespaced_config_map(f"{release}-hello", namespace)
        assert config.data == {"greeting": f"bye-{suffix}", "revision": "2"}

        cli.run("uninstall", release, *in_ns, *wait)
        assert cli.json("list", *in_ns, "--all") == []
        with pytest.raises(ApiException) as missing:
            core_api.read_namespaced_config_map(f"{release}-hello", namespace)
        assert missing.value.status == 404

        core_api.delete_namespace(namespace)
        assert _namespace_gone(core_api, namespace, timeout=120), f"{namespace} not deleted"
    finally:
        cli.run("uninstall", release, *in_ns, "--ignore-not-found", check=False)
        with contextlib.suppress(ApiException):
            core_api.delete_namespace(namespace)
