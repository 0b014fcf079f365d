"""devstack.node_relay: node-net's TCP relay, run here on loopback addresses (127.0.0.2)
in front of devstack's real Cassandra and Redis.

The Cassandra case answers the design question the relay depends on: a driver that
reaches a single node through a relay keeps using the relay's address (its contact
point) for every connection, not the `rpc_address` (127.0.0.1) that `system.local`
reports, so Pods need no address translator.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from devstack.components.redis import Redis
from devstack.node_relay import Route

RELAY_HOST = "127.0.0.2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((RELAY_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _relay(*routes: Route) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.node_relay", RELAY_HOST, *map(str, routes)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        for route in routes:
            while True:
                try:
                    socket.create_connection((RELAY_HOST, route.listen_port), timeout=1).close()
                    break
                except OSError:
                    assert proc.poll() is None, proc.communicate()[1]
                    assert time.monotonic() < deadline, "the relay never listened"
                    time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "SIGTERM is a clean stop"


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("6379=127.0.0.1:6379", Route(6379, "127.0.0.1", 6379)),
        ("9095=127.0.0.1:9092", Route(9095, "127.0.0.1", 9092)),
    ],
)
def test_a_route_is_port_equals_host_colon_port(text: str, route: Route) -> None:
    assert Route.parse(text) == route
    assert str(route) == text


@pytest.mark.parametrize("text", ["6379", "6379=127.0.0.1", "x=127.0.0.1:1", "1=:2"])
def test_a_malformed_route_is_refused_with_its_form(text: str) -> None:
    with pytest.raises(ValueError, match="PORT=HOST:PORT"):
        Route.parse(text)


def test_redis_through_the_relay(redis_server: Redis) -> None:
    port = _free_port()
    with _relay(Route(port, "127.0.0.1", 6379)):
        client = redis.Redis(host=RELAY_HOST, port=port, socket_timeout=5)
        key = f"relay-test-{port}"
        try:
            # A pipeline: many replies in flight through the relay at once.
            pipe = client.pipeline(transaction=False)
            for i in range(500):
                pipe.rpush(key, i)
            pipe.lrange(key, 0, -1)
            *_, values = pipe.execute()
            assert [int(v) for v in values] == list(range(500))
            big = b"x" * 3_000_000  # larger than the relay's chunk
            client.set(key + "-big", big)
            assert client.get(key + "-big") == big
        finally:
            client.delete(key, key + "-big")
            client.close()


def test_the_cassandra_driver_stays_on_its_contact_point(cassandra: Cassandra) -> None:
    port = _free_port()
    credentials = cassandra_auth.superuser(cassandra.paths)
    with _relay(Route(port, "127.0.0.1", 9042)):
        cluster = Cluster(
            [RELAY_HOST],
            port=port,
            auth_provider=PlainTextAuthProvider(credentials.username, credentials.password),
            connect_timeout=10,
        )
        try:
            session = cluster.connect()
            local = session.execute("SELECT rpc_address FROM system.local").one()
            assert str(local.rpc_address) == "127.0.0.1", "the node reports its own address"
            # ... yet the driver knows one host, at the relay's address, and its
            # connection pool (every query below) goes there.
            hosts = cluster.metadata.all_hosts()
            assert [(h.endpoint.address, h.endpoint.port) for h in hosts] == [(RELAY_HOST, port)]
            for _ in range(20):
                assert session.execute("SELECT release_version FROM system.local").one()
            pools = session.get_pools()
            assert [pool.host.endpoint.address for pool in pools] == [RELAY_HOST]
        finally:
            cluster.shutdown()


def test_a_refused_target_closes_the_client_and_the_relay_lives_on() -> None:
    dead = _free_port()  # nothing listens there
    port = _free_port()
    with _relay(Route(port, RELAY_HOST, dead)):
        for _ in range(3):
            with socket.create_connection((RELAY_HOST, port), timeout=5) as sock:
                sock.settimeout(5)
                assert sock.recv(1) == b"", "closed without a byte"
