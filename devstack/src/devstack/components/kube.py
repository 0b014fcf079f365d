"""etcd for the Kubernetes control plane"""

from __future__ import annotations

from devstack.component import Component


class Etcd(Component):
    name = "etcd"
    description = "etcd for the Kubernetes control plane"
    default = True
    requires = ()


class KubeApiserver(Component):
    name = "kube-apiserver"
    description = "kube-apiserver v1.34 on https://127.0.0.1:6443"
    requires = ("etcd",)


class KubeControllerManager(Component):
    name = "kube-controller-manager"
    description = "kube-controller-manager v1.34"
    requires = ("kube-apiserver",)


class KubeScheduler(Component):
    name = "kube-scheduler"
    description = "kube-scheduler v1.34"
    requires = ("kube-apiserver",)


class Kwok(Component):
    name = "kwok"
    description = "kwok: fake nodes so Pods become Running"
    requires = ("kube-apiserver",)
