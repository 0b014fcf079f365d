"""Redis from devstack is a real server: a round trip through redis-py."""

from __future__ import annotations

import uuid

import redis

from devstack.components.redis import Redis


def test_set_get_expire_round_trip(redis_server: Redis) -> None:
    client = redis.Redis.from_url(redis_server.env()["REDIS_URL"], socket_timeout=5)
    key = f"smoke:{uuid.uuid4().hex}"
    try:
        assert client.set(key, "value", ex=60) is True
        assert client.get(key) == b"value"
        assert 0 < client.ttl(key) <= 60
        assert client.incr(f"{key}:n") == 1
    finally:
        client.delete(key, f"{key}:n")
        client.close()
