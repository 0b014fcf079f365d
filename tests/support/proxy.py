"""A loopback TCP proxy in front of a real server, to make outages without stopping it.

devstack's servers are shared: a test must never stop them. Pointed at a
`TcpProxy` instead, a client sees the real server until the test calls `cut()`
(every open connection is reset and new ones are refused, as when the server
dies) or `blackhole()` (open connections go silent and new ones are accepted but
never answered, as when it hangs), and sees it again after `restore()`, on the
same port.

The proxy runs on an event loop of its own in a daemon thread, so a test that
blocks its own loop (a blocking driver call) cannot stall it; it stops with its
context, and by itself after `lifetime` seconds whatever happens to the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

T = TypeVar("T")

Mode = Literal["forward", "cut", "blackhole"]

_CONTROL_TIMEOUT = 10.0
_CHUNK = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` while in "forward" mode."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = 0
        self.mode: Mode = "forward"
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # --- control, from the test's thread ------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CONTROL_TIMEOUT)

    def start(self, lifetime: float) -> None:
        self._thread.start()
        self._run(self._listen())
        self._loop.call_soon_threadsafe(self._loop.call_later, lifetime, self._expire)

    def cut(self) -> None:
        """Close every connection and stop listening: connects are refused."""
        self._run(self._cut())

    def blackhole(self) -> None:
        """Forward nothing more on open connections; accept new ones, never answer."""
        self._run(self._blackhole())

    def restore(self) -> None:
        """Forward again, listening on the same port."""
        self._run(self._restore())

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self._run(self._shut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_CONTROL_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    # --- on the proxy's loop ----------------------------------------------------

    def _expire(self) -> None:
        # A test that forgot to stop its proxy (or hung) must not leave it serving.
        task = self._loop.create_task(self._shut())
        task.add_done_callback(lambda _: self._loop.stop())

    async def _shut(self) -> None:
        await self._cut()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen(self) -> None:
        # SO_REUSEADDR: the port is bound again after a cut, with its old sockets
        # still in TIME_WAIT.
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _drop_connections(self) -> None:
        writers, self._writers = self._writers, set()
        for writer in writers:
            # RST rather than FIN: the client sees the connection die, not end politely.
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
            writer.transport.abort()

    async def _cut(self) -> None:
        self.mode = "cut"
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop_connections()

    async def _blackhole(self) -> None:
        self.mode = "blackhole"
        if self._server is None:
            await self._listen()

    async def _restore(self) -> None:
        if self.mode == "blackhole":
            # Their swallowed bytes broke the protocol: the client must reconnect.
            await self._drop_connections()
        self.mode = "forward"
        if self._server is None:
            await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        if self.mode != "forward":
            return  # held open, never answered (blackhole), until dropped
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                if self.mode == "forward":  # a blackhole swallows what it reads
                    sink.write(chunk)
                    await sink.drain()
        except OSError:
            pass
        finally:
            sink.transport.abort()


@contextmanager
def tcp_proxy(target_host: str, target_port: int, *, lifetime: float = 900.0) -> Iterator[TcpProxy]:
    """A started `TcpProxy` to the target, stopped at the end (or after `lifetime` s)."""
    proxy = TcpProxy(target_host, target_port)
    proxy.start(lifetime)
    try:
        yield proxy
    finally:
        proxy.stop()
