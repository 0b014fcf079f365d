"""The real node's address on this machine, which node-net keeps (with its relay), the
node runs on and Kafka's listener for Pods binds: one module below the components,
which are independent of each other.

198.51.100.1/24 (TEST-NET-2) on `psnode0`, a bridge with no ports (this kernel has no
dummy links): reserved for testing and routed nowhere off the machine. TEST-NET-1
(192.0.2.0/24) is this VM's own uplink, so it is not used.
"""

from __future__ import annotations

import subprocess

NODE_IP = "198.51.100.1"
NODE_PREFIX = 24
NODE_LINK = "psnode0"
# Kafka's listener for the node's Pods (kafka.py), advertised at NODE_IP.
KAFKA_PODS_PORT = 9095
LOOPBACK = "127.0.0.1"
# What node-net relays from NODE_IP to LOOPBACK: {name: port}, the same port on both.
# The names are the Services Pods use (`<name>.devstack.svc.cluster.local`, node.py).
# The ports are the components' own (cassandra.CQL_PORT, redis.PORT, openbao.PORT,
# jaeger.OTLP_*_PORT; components are independent, so a copy the tests hold equal).
RELAYED: dict[str, int] = {
    "cassandra": 9042,
    "redis": 6379,
    "openbao": 8200,
    "otlp-grpc": 4317,
    "otlp-http": 4318,
}


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    """`ip ...`, its failure left to the caller."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)  # noqa: S607


def has_node_address() -> bool:
    """NODE_IP is on NODE_LINK (Kafka's PODS listener can bind it)."""
    return f" {NODE_IP}/" in ip("-o", "addr", "show", "dev", NODE_LINK).stdout
