"""pytest fixtures that run devstack components for a test session.

Mode (``--devstack`` or ``PRODUCTSTORE_DEVSTACK``):

- ``auto`` (default): components that already run (e.g. from ``make up``) are
  reused and left running; missing ones are started, tied to the pytest
  process (they die with it even on SIGKILL), and stopped at session end.
- ``reuse``: use only what already runs; a missing component fails the test
  with the command that starts it. Nothing is started or stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from devstack.component import Component, Context
from devstack.components.alertmanager import Alertmanager
from devstack.components.cassandra import Cassandra, CassandraCluster
from devstack.components.chat import ChatSandbox
from devstack.components.helm import Helm
from devstack.components.jaeger import Jaeger
from devstack.components.kafka import Kafka
from devstack.components.kube import KubeApiserver
from devstack.components.kube_score import KubeScore
from devstack.components.mailpit import Mailpit
from devstack.components.nginx import Nginx, Wrk
from devstack.components.node import Node
from devstack.components.openbao import OpenBao
from devstack.components.operator import ProductStoreOperator
from devstack.components.payments import PaymentsSandbox
from devstack.components.prometheus import Prometheus
from devstack.components.redis import Redis
from devstack.components.services import AuthService, CatalogService
from devstack.components.sms import SmsSandbox
from devstack.components.webpush import WebPushSandbox
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.stack import Stack

MODE_ENV = "PRODUCTSTORE_DEVSTACK"
C = TypeVar("C", bound=Component)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--devstack",
        choices=("auto", "reuse"),
        default=os.environ.get(MODE_ENV, "auto"),
        help="auto: start missing devstack components; reuse: only use running ones",
    )


class DevstackSession:
    """Starts components on demand and stops, at the end, only what it started."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stack = Stack(Context(paths=Paths.from_env(), tie_to_parent=True))
        self.started: list[str] = []

    def require(self, *names: str) -> list[Component]:
        order = self.stack.expand(names)
        if self.mode == "reuse":
            missing = [
                n
                for n in order
                if self.stack.components[n].processes()
                and not self.stack.is_running(self.stack.components[n])
            ]
            if missing:
                pytest.fail(
                    f"--devstack=reuse, but {', '.join(missing)} not running: "
                    f"run `devstack up {' '.join(missing)}` (or `make up`) first",
                    pytrace=False,
                )
        else:
            try:
                for result in self.stack.up(order):
                    if result.action == "started":
                        self.started.append(result.name)
            except DevstackError as exc:
                pytest.fail(str(exc), pytrace=False)
        return [self.stack.components[n] for n in order]

    def close(self) -> None:
        if self.started:
            self.stack.down(self.started, dependents=False)
            self.started.clear()


@pytest.fixture(scope="session")
def devstack(request: pytest.FixtureRequest) -> Iterator[DevstackSession]:
    session = DevstackSession(str(request.config.getoption("--devstack")))
    try:
        yield session
    finally:
        session.close()


def _one(session: DevstackSession, cls: type[C]) -> C:
    session.require(cls.name)
    component = session.stack.components[cls.name]
    if not isinstance(component, cls):
        raise TypeError(f"{cls.name} is registered as {type(component).__name__}")
    return component


@pytest.fixture(scope="session")
def cassandra(devstack: DevstackSession) -> Cassandra:
    return _one(devstack, Cassandra)


@pytest.fixture(scope="session")
def cassandra_cluster(devstack: DevstackSession) -> CassandraCluster:
    return _one(devstack, CassandraCluster)


@pytest.fixture(scope="session")
def kafka(devstack: DevstackSession) -> Kafka:
    return _one(devstack, Kafka)


@pytest.fixture(scope="session")
def redis_server(devstack: DevstackSession) -> Redis:
    return _one(devstack, Redis)


@pytest.fixture(scope="session")
def openbao(devstack: DevstackSession) -> OpenBao:
    return _one(devstack, OpenBao)


@pytest.fixture(scope="session")
def kube(devstack: DevstackSession) -> KubeApiserver:
    """The whole control plane (etcd, apiserver, controller-manager, scheduler, kwok).

    Returns the kube-apiserver component (kubeconfig, CA, ...).
    """
    devstack.require("kube")
    component = devstack.stack.components[KubeApiserver.name]
    if not isinstance(component, KubeApiserver):
        raise TypeError("kube-apiserver is not a KubeApiserver")
    return component


@pytest.fixture(scope="session")
def kube_api(kube: KubeApiserver) -> Iterator[k8s_client.ApiClient]:
    """A kubernetes client for the control plane, as its admin (system:masters)."""
    api_client = k8s_config.new_client_from_config(config_file=str(kube.kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture(scope="session")
def helm(devstack: DevstackSession) -> Helm:
    return _one(devstack, Helm)


@pytest.fixture(scope="session")
def prometheus(devstack: DevstackSession) -> Prometheus:
    return _one(devstack, Prometheus)


@pytest.fixture(scope="session")
def jaeger(devstack: DevstackSession) -> Jaeger:
    return _one(devstack, Jaeger)


@pytest.fixture(scope="session")
def nginx(devstack: DevstackSession) -> Nginx:
    return _one(devstack, Nginx)


@pytest.fixture(scope="session")
def auth_service(devstack: DevstackSession) -> AuthService:
    """The auth service, routed by the gateway at /api/auth/."""
    return _one(devstack, AuthService)


@pytest.fixture(scope="session")
def catalog_service(devstack: DevstackSession) -> CatalogService:
    """The catalog service, routed by the gateway at /api/products and /api/categories."""
    return _one(devstack, CatalogService)


@pytest.fixture(scope="session")
def payments_sandbox(devstack: DevstackSession) -> PaymentsSandbox:
    """The payment provider sandbox (its URL, API key and webhook secret)."""
    return _one(devstack, PaymentsSandbox)


@pytest.fixture(scope="session")
def chat_sandbox(devstack: DevstackSession) -> ChatSandbox:
    """The Slack and Telegram stand-ins (their URL and credential files)."""
    return _one(devstack, ChatSandbox)


@pytest.fixture(scope="session")
def alertmanager(devstack: DevstackSession) -> Alertmanager:
    """devstack's Alertmanager (and amtool), notifying the chat stand-ins."""
    return _one(devstack, Alertmanager)


@pytest.fixture(scope="session")
def alertmanager_build(devstack: DevstackSession) -> Alertmanager:
    """devstack's Alertmanager and amtool, built but not started (for private instances)."""
    component = devstack.stack.components[Alertmanager.name]
    if not isinstance(component, Alertmanager):
        raise TypeError(f"{Alertmanager.name} is registered as {type(component).__name__}")
    try:
        component.provision()
    except DevstackError as exc:
        pytest.fail(str(exc), pytrace=False)
    return component


@pytest.fixture(scope="session")
def mailpit(devstack: DevstackSession) -> Mailpit:
    """The mail server (SMTP in, its HTTP API for reading what arrived)."""
    return _one(devstack, Mailpit)


@pytest.fixture(scope="session")
def sms_sandbox(devstack: DevstackSession) -> SmsSandbox:
    """The SMS provider stand-in (its URL, accounts and API key)."""
    return _one(devstack, SmsSandbox)


@pytest.fixture(scope="session")
def webpush_sandbox(devstack: DevstackSession) -> WebPushSandbox:
    """The Web Push stand-in (subscriptions, decrypted pushes)."""
    return _one(devstack, WebPushSandbox)


@pytest.fixture(scope="session")
def wrk(devstack: DevstackSession) -> Wrk:
    return _one(devstack, Wrk)


@pytest.fixture(scope="session")
def kube_score(devstack: DevstackSession) -> KubeScore:
    """kube-score, the manifest checker the chart policy test runs."""
    return _one(devstack, KubeScore)


@pytest.fixture(scope="session")
def real_node(devstack: DevstackSession) -> Node:
    """The real node (containerd, kubelet, kube-proxy, CoreDNS) joined to the apiserver,
    with the images built here imported; Pods land there only if they tolerate its taint."""
    return _one(devstack, Node)


@pytest.fixture(scope="session")
def productstore_operator(devstack: DevstackSession) -> ProductStoreOperator:
    """The Product Store operator, reconciling ProductStores in every namespace."""
    return _one(devstack, ProductStoreOperator)
