"""helm CLI (tool)"""

from __future__ import annotations

from devstack.component import Component


class Helm(Component):
    name = "helm"
    description = "helm CLI (tool)"
    default = True
    requires = ()
