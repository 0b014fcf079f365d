"""Prometheus and promtool (Debian) on 127.0.0.1:9090"""

from __future__ import annotations

from devstack.component import Component


class Prometheus(Component):
    name = "prometheus"
    description = "Prometheus and promtool (Debian) on 127.0.0.1:9090"
    default = True
    requires = ()
