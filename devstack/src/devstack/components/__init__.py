"""The registry of components, in the order `devstack up` starts them."""

from __future__ import annotations

from devstack.component import Component
from devstack.components.alertmanager import Alertmanager
from devstack.components.cassandra import Cassandra, CassandraCluster
from devstack.components.chat import ChatSandbox
from devstack.components.coredns import CoreDns
from devstack.components.helm import Helm
from devstack.components.jaeger import Jaeger
from devstack.components.kafka import Kafka
from devstack.components.kube import Etcd, KubeApiserver, KubeControllerManager, KubeScheduler, Kwok
from devstack.components.kube_score import KubeScore
from devstack.components.mailpit import Mailpit
from devstack.components.metrics_server import MetricsServer
from devstack.components.nginx import Nginx, Wrk
from devstack.components.node import Node
from devstack.components.node_net import NodeNet
from devstack.components.openbao import OpenBao
from devstack.components.operator import ProductStoreOperator
from devstack.components.payments import PaymentsSandbox
from devstack.components.prometheus import Prometheus
from devstack.components.redis import Redis
from devstack.components.services import SERVICES
from devstack.components.sms import SmsSandbox
from devstack.components.webpush import WebPushSandbox

ALL: tuple[type[Component], ...] = (
    Cassandra,
    CassandraCluster,
    # The real node's address and the relay to loopback dependencies on it; Kafka
    # binds its listener for Pods there.
    NodeNet,
    Kafka,
    Redis,
    OpenBao,
    Etcd,
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    Kwok,
    # A real kubelet on this machine (containerd, kube-proxy), with CoreDNS built for it.
    CoreDns,
    Node,
    # The metrics API the HPAs read, scraping the real node's kubelet.
    MetricsServer,
    Helm,
    Prometheus,
    Jaeger,
    # Slack and Telegram stand-ins, and the Alertmanager that notifies them.
    ChatSandbox,
    Alertmanager,
    Nginx,
    # A third party's stand-in (the services will call it; it needs nothing).
    PaymentsSandbox,
    # The mail server the notifications service sends to (and tests read from).
    Mailpit,
    # Stand-ins for the notifications service's SMS providers and browsers' push services.
    SmsSandbox,
    WebPushSandbox,
    # Product Store's own services, one per descriptor (productstore_contracts.services).
    *SERVICES,
    ProductStoreOperator,
    Wrk,
    KubeScore,
)

GROUPS: dict[str, tuple[str, ...]] = {
    "kube": ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"),
    "tools": ("helm", "wrk", "kube-score"),
}
