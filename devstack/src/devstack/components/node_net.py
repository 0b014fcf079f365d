"""The real node's address, kept while devstack runs: 198.51.100.1/24 on `psnode0`, and a
relay there to the dependencies that listen on loopback.

A Pod on the real node reaches this machine only at its bridges' addresses; every
dependency listens on 127.0.0.1. Two ways in (devstack/README.md, "The real node"):

- the relay (`devstack.node_relay`, this component's process) on 198.51.100.1 at the
  dependency's own port, for Cassandra, Redis, OpenBao and OTLP: their clients connect
  where they are told to (the Cassandra driver keeps using its contact point for a
  single node: tests/devstack/test_node_relay.py);
- Kafka's own listener `PODS` on 198.51.100.1:9095, advertised there, since Kafka's
  metadata sends a client to the address it advertises. It binds when Kafka starts,
  which is why the address belongs to this always-on component (Kafka requires it),
  not to the node, which comes and goes.

The link is a bridge with no ports (this kernel has no dummy links), reserved for
testing (TEST-NET-2) and local to the machine: nothing routes it anywhere else.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from devstack.component import Component, Context
from devstack.errors import DevstackError
from devstack.node_address import (
    LOOPBACK,
    NODE_IP,
    NODE_LINK,
    NODE_PREFIX,
    RELAYED,
    has_node_address,
)
from devstack.node_address import ip as _ip
from devstack.node_relay import Route
from devstack.process import Endpoint, ProcessSpec


def routes() -> list[Route]:
    return [Route(port, LOOPBACK, port) for port in RELAYED.values()]


class NodeNet(Component):
    name = "node-net"
    description = (
        f"{NODE_IP} on {NODE_LINK} (local to this machine) and a relay there to "
        "Cassandra, Redis, OpenBao and OTLP on loopback, for the real node's Pods"
    )
    ready_timeout = 15.0
    start_hint = (
        f"creating the link {NODE_LINK} needs root (CAP_NET_ADMIN) and bridge support; "
        "check `devstack logs node-net`"
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._stopping_own_relay = False

    @property
    def link_marker(self) -> Path:
        """Written once this state directory's devstack has put the link up. The link is
        machine-wide, the state is not: `down` of a stack with another state directory
        (a test's, say) must not take the running devstack's address away."""
        return self.state_dir / "link-owned"

    def endpoints(self) -> dict[str, Endpoint]:
        # Only once the address is here: before, nothing of ours can listen on it, and
        # a connection to it leaves the machine (where a proxy may well answer).
        if not has_node_address():
            return {}
        return {f"relay-{name}": Endpoint(NODE_IP, port) for name, port in RELAYED.items()}

    def prepare(self) -> None:
        # Idempotent: a link left by a killed devstack is taken over.
        _ip("link", "add", NODE_LINK, "type", "bridge")
        _ip("addr", "replace", f"{NODE_IP}/{NODE_PREFIX}", "dev", NODE_LINK)
        if _ip("link", "set", NODE_LINK, "up").returncode != 0 or not has_node_address():
            raise DevstackError(
                self.name,
                f"could not put {NODE_IP} on the link {NODE_LINK}",
                hint="`ip link add NAME type bridge` must work (root, CONFIG_BRIDGE)",
            )
        self.link_marker.parent.mkdir(parents=True, exist_ok=True)
        self.link_marker.write_text(f"{NODE_LINK} {NODE_IP}/{NODE_PREFIX}\n")

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    sys.executable,
                    "-m",
                    "devstack.node_relay",
                    NODE_IP,
                    *(str(route) for route in routes()),
                ],
            )
        ]

    def ready(self) -> bool:
        for port in RELAYED.values():
            try:
                socket.create_connection((NODE_IP, port), timeout=1).close()
            except OSError:
                return False
        return True

    def before_stop(self) -> None:
        # Called only when this state's relay runs: its link is ours too (also when it
        # was put up before the marker existed).
        self._stopping_own_relay = True

    def after_stop(self) -> None:
        """The link goes with the relay of this state directory, or after a relay that
        was killed here (the marker says this state put it up); a stack of another
        state directory that runs nothing leaves it alone."""
        if not (self._stopping_own_relay or self.link_marker.exists()):
            return
        _ip("link", "del", NODE_LINK)
        self.link_marker.unlink(missing_ok=True)
        self._stopping_own_relay = False
