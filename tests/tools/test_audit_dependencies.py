"""The dependency audit: which pins it reads, and a loud skip when its service is unreachable."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools.audit_dependencies import pins, unreachable_reason

REPO = Path(__file__).resolve().parents[2]
# What the fake service answers per package name.
ANSWERS: dict[str, tuple[int, bytes]] = {
    "gone": (404, b"Not Found"),
    "clean": (200, json.dumps({"info": {}, "vulnerabilities": []}).encode()),
    "listless": (200, json.dumps({"info": {}}).encode()),
    "garbage": (200, b"<html>a login page</html>"),
}


class _Service(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        name = self.path.split("/")[2]
        status, body = ANSWERS[name]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/pypi/{{name}}/{{version}}/json"
    finally:
        server.shutdown()


def test_pins_reads_uv_exports_pins_only() -> None:
    exported = (
        "# via uv export\n"
        "aiohttp==3.14.5 \\\n    --hash=sha256:0133\n    # via x\n"
        'uvloop==0.23.0 ; sys_platform != "win32" \\\n'
        "-e ./services/auth\n"
    )
    assert pins(exported) == [("aiohttp", "3.14.5"), ("uvloop", "0.23.0")]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("clean", None),
        ("gone", "answered HTTP 404"),
        ("listless", "answered without a vulnerabilities list"),
        ("garbage", "answered without a vulnerabilities list"),
    ],
)
def test_unreachable_reason(service: str, name: str, reason: str | None) -> None:
    found = unreachable_reason(name, "1.0", service=service)
    if reason is None:
        assert found is None
    else:
        assert found == f"GET {service.format(name=name, version='1.0')} {reason}"


def test_a_closed_port_is_a_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    found = unreachable_reason("x", "1", service=f"http://127.0.0.1:{port}/{{name}}/{{version}}")
    assert found is not None and "failed: ConnectError" in found


def _uv() -> Path:
    makefile = (REPO / "Makefile").read_text()
    (version,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    cache = Path(os.environ.get("PRODUCTSTORE_CACHE", Path.home() / ".cache" / "productstore"))
    uv = cache / "tools" / f"uv-{version}" / "bin" / "uv"
    assert uv.exists(), f"{uv} is missing: `make setup` installs it"
    return uv


def test_an_unreachable_service_skips_loudly_and_passes(service: str) -> None:
    # The first pin of the lock, asked at a service that knows no package.
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "audit_dependencies.py"),
            "--uv",
            str(_uv()),
            "--service",
            service.replace("{name}", "gone/{name}"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("dependency audit SKIPPED, nothing was audited: ")
    assert "answered HTTP 404" in result.stderr
