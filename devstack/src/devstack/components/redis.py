"""Redis from Debian's redis-server package, as a plain process."""

from __future__ import annotations

import redis

from devstack.component import Component
from devstack.process import Endpoint, ProcessSpec

HOST = "127.0.0.1"
PORT = 6379


class Redis(Component):
    name = "redis"
    description = "Redis (Debian package) on 127.0.0.1:6379"
    ready_timeout = 20.0
    start_hint = "run `make setup` to install redis-server; check that port 6379 is free"

    def _binary(self) -> str:
        return str(self.system_binary("redis-server", "redis-server"))

    def provision(self) -> bool:
        self._binary()
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"redis": Endpoint(HOST, PORT)}

    def prepare(self) -> None:
        (self.state_dir / "data").mkdir(parents=True, exist_ok=True)

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    self._binary(),
                    "--bind",
                    HOST,
                    "--port",
                    str(PORT),
                    "--protected-mode",
                    "yes",
                    "--dir",
                    str(self.state_dir / "data"),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "notice",
                ],
            )
        ]

    def ready(self) -> bool:
        client = redis.Redis(host=HOST, port=PORT, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()

    def env(self) -> dict[str, str]:
        return {"REDIS_URL": f"redis://{HOST}:{PORT}/0"}
