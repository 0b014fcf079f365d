"""What the auth tests share: a JWKS endpoint on loopback, a test clock, token forging.

The JWKS endpoint stands in for the auth service (a later slice builds it): a
real HTTP server on 127.0.0.1 that the real JwksClient talks to, publishing
whatever document a test sets and counting the requests it answers.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from productstore_common.auth.keys import PublicKey, SigningKey, jwks_document

ISSUER = "https://auth.productstore.test"
AUDIENCE = "productstore"
JWKS_PATH = "/api/auth/.well-known/jwks.json"


class JwksServer:
    """A JWKS document served over HTTP on an ephemeral loopback port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._body = b'{"keys": []}'
        self._status = 200
        self._delay = 0.0
        self._requests = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{JWKS_PATH}"

    @property
    def requests(self) -> int:
        with self._lock:
            return self._requests

    def publish(self, keys: Mapping[str, PublicKey | SigningKey]) -> None:
        """Serve a JWKS with the public half of `keys`, by kid."""
        self.serve(json.dumps(jwks_document(keys)).encode(), status=200)

    def serve(self, body: bytes, *, status: int = 200, delay: float = 0.0) -> None:
        """Serve `body` with `status`, each answer `delay` seconds late."""
        with self._lock:
            self._body, self._status, self._delay = body, status, delay

    def _answer(self) -> tuple[int, bytes, float]:
        with self._lock:
            self._requests += 1
            return self._status, self._body, self._delay

    def start(self) -> None:
        """Listen on 127.0.0.1: an ephemeral port at first, the same port on a restart."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                status, body, delay = server._answer()
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows failures, not every GET."""

        # Restarting after stop() binds the same port, as a restarted auth service would.
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.02,), name="jwks-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop answering: the port refuses connections afterwards."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(header: Mapping[str, Any], claims: Mapping[str, Any] | bytes) -> str:
    """The `header.payload` signing input of a JWS built by hand."""
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    return f"{b64url(json.dumps(header).encode())}.{b64url(payload)}"
