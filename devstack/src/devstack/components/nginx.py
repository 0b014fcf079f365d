"""nginx gateway on 127.0.0.1:8080"""

from __future__ import annotations

from devstack.component import Component


class Nginx(Component):
    name = "nginx"
    description = "nginx gateway on 127.0.0.1:8080"
    default = True
    requires = ()


class Wrk(Component):
    name = "wrk"
    description = "wrk HTTP benchmark tool (Debian, tool)"
