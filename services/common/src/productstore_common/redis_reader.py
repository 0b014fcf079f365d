"""`RedisReader`: GET and MGET for hot read paths, pipelined over one connection.

redis.asyncio spends 70-100 µs of CPU on a GET (a pooled connection taken and
given back under locks, a StreamReader, its command wrappers): more than the rest
of a cached product read. Redis answers the commands of a connection in the
order they were sent, so one connection can carry every concurrent read of the
process: a command is written at once, its future joins a FIFO queue, and each
parsed reply (hiredis) completes the oldest future. That costs ~10 µs a GET.

Only reads go through it; writes, scripts and everything else stay on
redis.asyncio. Failures are `RedisReadError`s, so callers fall back as they
would on redis.asyncio's errors:

- a reply not there within `timeout_seconds` fails the command and drops the
  connection (every command behind it on that connection waits for it);
- a failed connect is not retried for `retry_after_seconds`: while Redis is
  down, reads fail at once instead of each waiting for a connect timeout;
- a lost connection fails the commands in flight; the next command reconnects.

Each command is a client span under a recorded parent unless `traced=False`: a
sampled span costs more than the GET itself, so a caller whose request does
nothing but this read (a cache hit) marks its own span instead.

The URL is the services' `redis_url`: `redis://[[user]:password@]host[:port][/db]`,
`rediss://` (TLS, the system's CAs) or `unix://[[user]:password@]/path[?db=N]`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from opentelemetry.trace import SpanKind

from productstore_common.telemetry.clients import client_tracer

__all__ = ["RedisReadError", "RedisReader"]

_tracer = client_tracer(__name__)


class RedisReadError(Exception):
    """Redis did not answer (connect failed, connection lost, timeout) or answered an error."""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str  # "" for a unix socket
    port: int
    path: str | None
    tls: bool
    username: str | None
    password: str | None
    db: int

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        query = parse_qs(parts.query)
        db = query.get("db", ["0"])[0]
        if parts.scheme != "unix" and parts.path.strip("/"):
            db = parts.path.strip("/")
        if not db.isdigit():
            raise ValueError(f"the Redis database must be a number, not {db!r}")
        return cls(
            host="" if parts.scheme == "unix" else (parts.hostname or "127.0.0.1"),
            port=parts.port or 6379,
            path=parts.path if parts.scheme == "unix" else None,
            tls=parts.scheme == "rediss",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            db=int(db),
        )


def _command(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class _Connection(asyncio.Protocol):
    """One connection: commands written in order, replies matched to them in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self._reader = hiredis.Reader()
        # (future, deadline) of each command sent and not answered, oldest first.
        self._pending: deque[tuple[asyncio.Future[object], float]] = deque()
        self._transport: asyncio.Transport | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._failure: RedisReadError | None = None

    @property
    def usable(self) -> bool:
        return self._failure is None and self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        pending = self._pending
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as exc:
                self._fail(RedisReadError(f"Redis protocol error: {exc}"))
                return
            if reply is False:
                return
            if not pending:
                self._fail(RedisReadError("Redis sent a reply nobody asked for"))
                return
            future, _ = pending.popleft()
            if future.done():  # its caller was cancelled; the reply is still its own
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(RedisReadError(f"Redis: {reply}"))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisReadError(f"Redis connection lost: {exc or 'closed by the server'}"))

    def send(self, payload: bytes) -> asyncio.Future[object]:
        if self._failure is not None:
            raise self._failure
        if self._transport is None:
            raise RedisReadError("Redis connection not open")
        future: asyncio.Future[object] = self._loop.create_future()
        self._pending.append((future, self._loop.time() + self._timeout))
        self._transport.write(payload)
        if self._watchdog is None:
            self._watchdog = self._loop.call_at(self._pending[0][1], self._check_oldest)
        return future

    def close(self) -> None:
        self._fail(RedisReadError("Redis reader closed"))

    def _check_oldest(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        deadline = self._pending[0][1]
        if deadline <= self._loop.time():
            self._fail(RedisReadError(f"no reply from Redis within {self._timeout:g} s"))
        else:
            self._watchdog = self._loop.call_at(deadline, self._check_oldest)

    def _fail(self, failure: RedisReadError) -> None:
        if self._failure is None:
            self._failure = failure
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._pending:
            future, _ = self._pending.popleft()
            if not future.done():
                future.set_exception(self._failure)
        if self._transport is not None:
            self._transport.abort()


class RedisReader:
    """GET/MGET over one pipelined connection (see the module's docstring)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 0.5,
        retry_after_seconds: float = 1.0,
        client_name: str | None = None,
        traced: bool = True,
    ) -> None:
        self._target = _Target.parse(url)
        self._traced = traced
        self._timeout = timeout_seconds
        self._retry_after = retry_after_seconds
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None
        self._down_until = 0.0
        self._down_reason = ""
        self._closed = False
        # Sent first on every connection: AUTH, SELECT, CLIENT SETNAME (as needed).
        self._handshake: list[bytes] = []
        target = self._target
        if target.password is not None:
            user = [target.username.encode()] if target.username else []
            self._handshake.append(_command(b"AUTH", *user, target.password.encode()))
        if target.db:
            self._handshake.append(_command(b"SELECT", b"%d" % target.db))
        if client_name:
            self._handshake.append(_command(b"CLIENT", b"SETNAME", client_name.encode()))

    async def get(self, key: str | bytes) -> bytes | None:
        """The value at `key`, None if there is none."""
        reply = await self._call(b"GET", _bytes(key))
        if reply is not None and not isinstance(reply, bytes):
            raise RedisReadError(f"GET answered {type(reply).__name__}")
        return reply

    async def mget(self, keys: Sequence[str | bytes]) -> list[bytes | None]:
        """The values at `keys`, in order (None where there is none)."""
        if not keys:
            return []
        reply = await self._call(b"MGET", *(_bytes(key) for key in keys))
        if not isinstance(reply, list) or len(reply) != len(keys):
            raise RedisReadError("MGET answered something other than one value per key")
        return reply

    async def aclose(self) -> None:
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _call(self, name: bytes, *args: bytes) -> object:
        connection = self._connection
        if connection is None or not connection.usable:
            connection = await self._connect()
        if not self._traced:
            return await connection.send(_command(name, *args))
        span = _tracer.start_span(name.decode(), kind=SpanKind.CLIENT)
        if span.is_recording():
            span.set_attributes({"db.system.name": "redis", "db.operation.name": name.decode()})
        try:
            return await connection.send(_command(name, *args))
        except RedisReadError as exc:
            span.record_exception(exc)
            raise
        finally:
            span.end()

    async def _connect(self) -> _Connection:
        if self._closed:
            raise RedisReadError("Redis reader closed")
        if time.monotonic() < self._down_until:
            raise RedisReadError(f"Redis unavailable: {self._down_reason}")
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._open(), name="redis-reader-connect")
            self._connecting.add_done_callback(self._connected)
        # shield: a caller cancelled while waiting must not cancel the others' connect
        return await asyncio.shield(self._connecting)

    def _connected(self, task: asyncio.Task[_Connection]) -> None:
        self._connecting = None
        if task.cancelled():
            return
        failure = task.exception()
        if failure is None:
            self._connection = task.result()
        else:
            self._down_until = time.monotonic() + self._retry_after
            self._down_reason = str(failure)

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        target = self._target
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self._timeout):
                if target.path is not None:
                    _, connection = await loop.create_unix_connection(
                        lambda: _Connection(loop, self._timeout), target.path
                    )
                else:
                    _, connection = await loop.create_connection(
                        lambda: _Connection(loop, self._timeout),
                        target.host,
                        target.port,
                        ssl=ssl.create_default_context() if target.tls else None,
                    )
                replies = await asyncio.gather(
                    *(connection.send(command) for command in self._handshake),
                    return_exceptions=True,
                )
            for reply in replies:
                if isinstance(reply, BaseException):
                    raise reply
        except (OSError, TimeoutError, RedisReadError) as exc:
            if connection is not None:
                connection.close()
            raise RedisReadError(f"cannot connect to Redis: {exc or 'timed out'}") from exc
        return connection


def _bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key
