"""The nginx gateway's own features, through http://127.0.0.1:8080.

Request ids, gzip, security headers, the per-address rate limit, the body
size limit, the 503 of a route whose service is down, and the combined
OpenAPI document with its Swagger UI page.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from devstack.components.nginx import Nginx
from devstack.components.nginx_conf import API_CSP, DOCS_CSP
from devstack.components.services import AuthService, render_routes, render_upstream
from devstack.process import Endpoint, port_open

JWKS = "/api/auth/.well-known/jwks.json"
HEX_ID = re.compile(r"[0-9a-f]{32}")


def _assert_security_headers(response: httpx.Response, csp: str = API_CSP) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers.get_list("content-security-policy") == [csp]
    # Plain HTTP on loopback: HSTS would be ignored by browsers, so it is not sent.
    assert "strict-transport-security" not in response.headers


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def _pipelined(path: str, count: int, source: str) -> tuple[Counter[int], bytes]:
    """Send `count` GETs at once on one connection from `source`: status counts, raw answers.

    Pipelining puts every request in nginx's hands within milliseconds, so the
    test does not depend on how fast this machine can issue requests. A source
    address of our own keeps the burst away from other tests' rate budget.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    last = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", 8080), timeout=30, source_address=(source, 0)) as s:
        s.sendall(request * (count - 1) + last)
        data = bytearray()
        for _ in range(100_000):  # bounded: the server closes after the last answer
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    codes = Counter(int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", bytes(data)))
    return codes, bytes(data)


def _first_response(data: bytes, status: int) -> httpx.Response:
    """The first answer with `status` in a stream of pipelined HTTP/1.1 answers."""
    start = data.index(f"HTTP/1.1 {status} ".encode())
    head, _, rest = data[start:].partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
    length = int(next(v for k, v in headers if k.lower() == "content-length"))
    return httpx.Response(status, headers=headers, content=rest[:length])


def _own_address() -> str:
    return f"127.0.{random.randint(10, 250)}.{random.randint(2, 250)}"  # noqa: S311 - a spare address


@pytest.fixture
def gateway(nginx: Nginx, auth_service: AuthService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=nginx.url, timeout=15) as client:
        yield client


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers with the request headers it got, and an X-Request-ID of its own."""

    def do_GET(self) -> None:
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-ID", "the-upstreams-own-id")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def echo_prefix(nginx: Nginx) -> Iterator[str]:
    """A route made by the services' templates to a loopback server that echoes headers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    name = f"smoke{uuid.uuid4().hex[:10]}"
    prefix = f"/{name}/"
    upstream = nginx.upstreams_dir / f"{name}.conf"
    route = nginx.routes_dir / f"{name}.conf"
    upstream.write_text(render_upstream(name, server.server_address[1]))
    route.write_text(render_routes(name, (prefix,)))
    try:
        nginx.reload()
        deadline = time.monotonic() + 10  # workers switch over asynchronously
        while httpx.get(f"{nginx.url}{prefix}", timeout=5).status_code == 404:
            assert time.monotonic() < deadline, "the route never became active"
            time.sleep(0.2)
        yield prefix
    finally:
        route.unlink()
        upstream.unlink()
        nginx.reload()
        server.shutdown()
        server.server_close()


def test_request_id_is_made_propagated_and_replaced_when_malformed(
    nginx: Nginx, echo_prefix: str
) -> None:
    url = f"{nginx.url}{echo_prefix}echo"
    fresh = httpx.get(url, timeout=10)
    assert fresh.status_code == 200, fresh.text
    # One id, the gateway's, which the upstream got too (its own is hidden).
    assert len(fresh.headers.get_list("x-request-id")) == 1
    assert HEX_ID.fullmatch(fresh.headers["x-request-id"])
    assert fresh.json()["x-request-id"] == fresh.headers["x-request-id"]
    assert fresh.json()["x-forwarded-for"] == "127.0.0.1"
    # The one forwarding header services believe: the address nginx saw, never the client's.
    assert fresh.json()["x-client-address"] == "127.0.0.1"
    spoofed = httpx.get(url, headers={"X-Client-Address": "203.0.113.7"}, timeout=10)
    assert spoofed.json()["x-client-address"] == "127.0.0.1"

    mine = f"client-{uuid.uuid4().hex[:8]}"
    echoed = httpx.get(url, headers={"X-Request-ID": mine}, timeout=10)
    assert echoed.headers.get_list("x-request-id") == [mine]
    assert echoed.json()["x-request-id"] == mine

    bad = httpx.get(url, headers={"X-Request-ID": 'no spaces; or "quotes"'}, timeout=10)
    assert HEX_ID.fullmatch(bad.headers["x-request-id"])
    assert bad.json()["x-request-id"] == bad.headers["x-request-id"]


def test_json_is_gzipped_for_clients_that_accept_it(gateway: httpx.Client) -> None:
    zipped = gateway.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.json()["openapi"].startswith("3.")  # httpx decompressed it

    plain = gateway.get("/api/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.json() == zipped.json()


@pytest.mark.parametrize("path", ["/healthz", "/no-such-route", JWKS, "/api/auth/me"])
def test_security_headers_on_every_api_answer(gateway: httpx.Client, path: str) -> None:
    _assert_security_headers(gateway.get(path))


def test_unknown_route_is_a_problem(gateway: httpx.Client) -> None:
    body = _assert_problem(gateway.get(f"/no-such-route-{uuid.uuid4().hex[:6]}.json"), 404)
    assert "/api/" in body["detail"]


def _raw(request: bytes) -> httpx.Response:
    """One request written as bytes, so nothing in between tidies it; the answer parsed."""
    with socket.create_connection(("127.0.0.1", 8080), timeout=30) as s:
        s.sendall(request)
        data = bytearray()
        for _ in range(10_000):  # bounded: the request says Connection: close
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(bytes(data).split(b" ", 2)[1])
    return _first_response(bytes(data), status)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # A method nginx refuses for its own document.
        (b"POST /api/openapi.json HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n", 405),
        # A header line without a colon.
        (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n", 400),
    ],
    ids=["405", "400"],
)
def test_the_gateways_own_refusals_are_problems(
    gateway: httpx.Client, request_bytes: bytes, status: int
) -> None:
    response = _raw(request_bytes + b"Connection: close\r\n\r\n")
    body = _assert_problem(response, status)
    assert body["request_id"]


def test_burst_over_the_rate_limit_gets_429_problems(nginx: Nginx) -> None:
    limits = nginx.limits
    count = limits.burst + 2 * limits.rate_per_second + 100
    codes, data = _pipelined(JWKS, count, _own_address())
    assert sum(codes.values()) == count, codes
    # The burst passes; what is over it (less what the rate refilled meanwhile) is refused.
    assert codes[200] >= limits.burst, codes
    assert codes[429] > 0, codes
    assert set(codes) == {200, 429}, codes

    limited = _first_response(data, 429)
    body = _assert_problem(limited, 429)
    assert f"{limits.rate_per_second} requests per second" in body["detail"]
    assert limited.headers["retry-after"] == "1"
    _assert_security_headers(limited)


def test_health_checks_are_not_rate_limited(nginx: Nginx) -> None:
    count = nginx.limits.burst + 2 * nginx.limits.rate_per_second + 100
    assert _pipelined("/healthz", count, _own_address())[0] == Counter({200: count})


def test_request_body_over_the_limit_is_a_413_problem(gateway: httpx.Client, nginx: Nginx) -> None:
    assert nginx.limits.max_body == "1m"
    response = gateway.post(
        "/api/auth/register",
        content=b"{" + b" " * (2 * 2**20) + b"}",
        headers={"Content-Type": "application/json"},
    )
    body = _assert_problem(response, 413)
    assert "1m" in body["detail"]


def test_route_to_a_stopped_service_is_a_503_problem(nginx: Nginx) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    assert not port_open(Endpoint("127.0.0.1", closed_port), timeout=0.2)
    route = f"smoke-down-{uuid.uuid4().hex[:10]}"
    snippet = nginx.routes_dir / f"{route}.conf"
    snippet.write_text(
        f"location = /{route} {{\n    proxy_pass http://127.0.0.1:{closed_port};\n}}\n"
    )
    try:
        nginx.reload()
        deadline = time.monotonic() + 10  # workers switch over asynchronously
        while True:
            response = httpx.get(f"{nginx.url}/{route}", timeout=5)
            if response.status_code != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        body = _assert_problem(response, 503)
        assert "not running" in body["detail"]
    finally:
        snippet.unlink()
        nginx.reload()


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k == "$ref" and isinstance(v, str)}
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_combined_openapi_has_every_auth_path_and_resolves(
    gateway: httpx.Client, auth_service: AuthService
) -> None:
    combined = gateway.get("/api/openapi.json")
    assert combined.status_code == 200
    assert combined.headers["content-type"] == "application/json"
    document = combined.json()
    own = httpx.get(f"{auth_service.url}/openapi.json", timeout=10).json()
    assert set(own["paths"]) <= set(document["paths"])
    assert all(p.startswith("/api/") for p in document["paths"])
    login = document["paths"]["/api/auth/login"]["post"]
    assert login["x-service"] == "auth"
    for ref in _refs(document):
        section, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][section], ref
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids))


def test_swagger_ui_is_served_offline(gateway: httpx.Client) -> None:
    redirect = gateway.get("/api/docs")
    assert redirect.status_code == 301
    assert redirect.headers["location"].endswith("/api/docs/")

    page = gateway.get("/api/docs/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    _assert_security_headers(page, csp=DOCS_CSP)
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == ["swagger-ui-bundle.js", "init.js"]
    assert "http" not in page.text.replace("charset", "")  # nothing from a CDN
    for asset in (*scripts, "swagger-ui.css"):
        response = gateway.get(f"/api/docs/{asset}")
        assert response.status_code == 200, asset
        assert int(response.headers.get("content-length", len(response.content))) > 0
    init = gateway.get("/api/docs/init.js")
    assert init.headers["content-type"] == "application/javascript"
    assert '"/api/openapi.json"' in init.text
    bundle = gateway.get("/api/docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
