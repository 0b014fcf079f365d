"""A TCP relay: each listening address forwards every connection to one target address.

    python -m devstack.node_relay LISTEN_HOST PORT=TARGET_HOST:TARGET_PORT ...

devstack's `node-net` runs it on the real node's address (198.51.100.1), towards the
dependencies that listen on 127.0.0.1 only, which a Pod's network namespace cannot
reach. It fits protocols that never tell a client where to connect next (Redis, the
Vault API, OTLP, a single Cassandra node reached by its contact point); Kafka's
metadata names its advertised listener, so Kafka gets a listener of its own instead.

Bytes are copied as they come, each direction on its own, and a half-close (EOF) is
passed on; a connection whose target refuses is closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

_logger = logging.getLogger("devstack.node_relay")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Route:
    """Connections to listen_port (on the relay's address) go to target_host:target_port."""

    listen_port: int
    target_host: str
    target_port: int

    @classmethod
    def parse(cls, text: str) -> Route:
        """`PORT=HOST:PORT`."""
        port, _, target = text.partition("=")
        host, _, target_port = target.rpartition(":")
        if not (port.isdigit() and host and target_port.isdigit()):
            raise ValueError(f"a route is PORT=HOST:PORT, not {text!r}")
        return cls(int(port), host, int(target_port))

    def __str__(self) -> str:
        return f"{self.listen_port}={self.target_host}:{self.target_port}"


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        # The other side reset: closing both ends (in _connection) tells this one.
        pass


async def _connection(
    route: Route, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    try:
        target_reader, target_writer = await asyncio.open_connection(
            route.target_host, route.target_port
        )
    except OSError as exc:
        _logger.warning("%s: %s", route, exc)
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pump(client_reader, target_writer), _pump(target_reader, client_writer)
        )
    finally:
        for writer in (client_writer, target_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def serve(listen_host: str, routes: Sequence[Route]) -> None:
    """Listen for every route until cancelled."""
    servers = []
    for route in routes:

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: Route = route
        ) -> None:
            await _connection(route, reader, writer)

        servers.append(await asyncio.start_server(handle, listen_host, route.listen_port))
        _logger.info(
            "relaying %s:%s to %s:%s",
            listen_host,
            route.listen_port,
            route.target_host,
            route.target_port,
        )
    try:
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()


async def _main(listen_host: str, routes: Sequence[Route]) -> None:
    task = asyncio.ensure_future(serve(listen_host, routes))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)  # noqa: T201 - usage
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_main(argv[0], [Route.parse(text) for text in argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
