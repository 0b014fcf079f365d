"""The payment sandbox from a test: a webhook receiver of our own, registering it,
waiting for events, and a loopback server that accepts and never answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx

from devstack.components.payments import PaymentsSandbox

T = TypeVar("T")


def sandbox_http(sandbox: PaymentsSandbox) -> httpx.Client:
    """A plain client of the sandbox's API with its key (the raw-HTTP tests' client)."""
    return httpx.Client(
        base_url=sandbox.url,
        headers={"Authorization": f"Bearer {sandbox.api_key()}"},
        timeout=10.0,
    )


@dataclass(frozen=True)
class Received:
    body: bytes
    signature: str | None


@dataclass
class WebhookReceiver:
    """Records every POST; answers the n-th attempt of each event (same body) with
    ``statuses[n]``, 200 past the list. Per event, so another session's events sent
    to the same receiver cannot use up the failures a test counts on."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            attempt = sum(r.body == request.body for r in self.received)
            self.received.append(request)
            return self.statuses[attempt] if attempt < len(self.statuses) else 200

    def bodies_with(self, text: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if text.encode() in r.body]


@contextmanager
def webhook_receiver(statuses: list[int] | None = None) -> Iterator[WebhookReceiver]:
    """An HTTP server on a free loopback port, in a thread, stopped at the end."""
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.answer(Received(body, self.headers.get("Payments-Signature")))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    receiver.statuses = list(statuses or [])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def registered(client: httpx.Client, url: str) -> Iterator[str]:
    """``url`` registered as a webhook endpoint of the sandbox for the block."""
    response = client.post("/v1/webhook_endpoints", json={"url": url})
    assert response.status_code == 201, response.text
    endpoint_id: str = response.json()["id"]
    try:
        yield endpoint_id
    finally:
        client.delete(f"/v1/webhook_endpoints/{endpoint_id}")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers: the URL of a
    provider that took the request and hangs (a fault of our own, not the sandbox's)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        listener.close()


@contextmanager
def answer_losing_proxy(target: str, lose: int = 1) -> Iterator[str]:
    """A loopback TCP proxy to ``target`` (``http://host:port``) that passes requests on
    but throws away the answers on its first ``lose`` connections: the call happens at
    the provider and the caller times out, as when a network drops the answer."""
    host, port = target.removeprefix("http://").split(":")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def pump(source: socket.socket, sink: socket.socket | None) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                if sink is not None:
                    sink.sendall(chunk)
        with suppress(OSError):
            (sink or source).shutdown(socket.SHUT_WR)

    def serve() -> None:
        accepted = 0
        while not stop.is_set():
            try:
                downstream, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection((host, int(port)))
            sockets.extend((downstream, upstream))
            accepted += 1
            answers_to = None if accepted <= lose else downstream
            for source, sink in ((downstream, upstream), (upstream, answers_to)):
                threading.Thread(target=pump, args=(source, sink), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for sock in sockets:
            sock.close()
        listener.close()
