"""OpenBao dev server (Vault API) on 127.0.0.1:8200"""

from __future__ import annotations

from devstack.component import Component


class OpenBao(Component):
    name = "openbao"
    description = "OpenBao dev server (Vault API) on 127.0.0.1:8200"
    default = True
    requires = ()
