"""nginx gateway from devstack: /healthz round trip and a short wrk load run."""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import httpx
import pytest

from devstack.components.nginx import Nginx, Wrk
from devstack.errors import DevstackError


def test_healthz_returns_json_and_request_id(nginx: Nginx) -> None:
    first = httpx.get(f"{nginx.url}/healthz", timeout=5)
    second = httpx.get(f"{nginx.url}/healthz", timeout=5)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    request_id = first.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert first.json() == {"status": "ok", "request_id": request_id}
    # A fresh id per request, so logs of one request can be told apart.
    assert second.headers["x-request-id"] != request_id


def test_unknown_route_is_a_json_404(nginx: Nginx) -> None:
    response = httpx.get(f"{nginx.url}/no-such-route", timeout=5)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not Found"
    assert response.headers["x-request-id"]


def test_wrk_load_against_healthz(nginx: Nginx, wrk: Wrk) -> None:
    result = subprocess.run(
        [str(wrk.binary), "-t1", "-c2", "-d2s", "--latency", f"{nginx.url}/healthz"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    out = result.stdout
    match = re.search(r"^\s*(\d+) requests in ", out, re.MULTILINE)
    assert match, out
    assert int(match.group(1)) > 0
    # wrk prints these lines only when they are non-zero.
    assert "Non-2xx or 3xx responses" not in out, out
    assert "Socket errors" not in out, out
    assert "Latency Distribution" in out


def test_route_snippet_is_served_after_reload(nginx: Nginx) -> None:
    route = f"smoke-{uuid.uuid4().hex[:12]}"
    snippet = nginx.routes_dir / f"{route}.conf"
    snippet.write_text(
        f"location = /{route} {{\n"
        "    default_type text/plain;\n"
        f'    return 200 "{route} $request_id\\n";\n'
        "}\n"
    )
    try:
        nginx.reload()
        deadline = time.monotonic() + 10  # workers switch over asynchronously
        while True:
            response = httpx.get(f"{nginx.url}/{route}", timeout=5)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert response.status_code == 200
        assert response.text == f"{route} {response.headers['x-request-id']}\n"
    finally:
        snippet.unlink()
        nginx.reload()


# Serial in make test: a broken route in the shared gateway's directory fails every reload
# meanwhile.
@pytest.mark.serial
def test_broken_route_snippet_is_rejected(nginx: Nginx) -> None:
    snippet = nginx.routes_dir / f"smoke-{uuid.uuid4().hex[:12]}.conf"
    snippet.write_text("location /broken {\n    no_such_directive on;\n}\n")
    try:
        with pytest.raises(DevstackError, match="no_such_directive"):
            nginx.reload()
    finally:
        snippet.unlink()
    # The running gateway kept its last good configuration.
    assert httpx.get(f"{nginx.url}/healthz", timeout=5).status_code == 200
