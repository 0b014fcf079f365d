"""Logging in through the gateway as devstack's administrator; a private gateway."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devstack.components.nginx import TEMP_DIRS
from devstack.components.nginx_conf import HEADERS, GatewayLimits, render_config
from devstack.components.services import (
    ADMIN_EMAIL,
    AuthService,
    render_routes,
    render_upstream,
)
from devstack.process import Endpoint, port_open


def admin_token(auth: AuthService, gateway_url: str) -> str:
    """An access token of the administrator the auth component creates (roles admin, user)."""
    password = auth.admin_password_file.read_text().strip()
    response = httpx.post(
        f"{gateway_url}/api/auth/login",
        json={"email": ADMIN_EMAIL, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@contextmanager
def private_gateway(
    tmp_path: Path, name: str, upstream_port: int, prefixes: tuple[str, ...]
) -> Iterator[str]:
    """devstack's gateway config, routing `prefixes` to a service on `upstream_port` with
    the services' templates, in an nginx of its own on a free port (the shared gateway is
    never reloaded); yields its base URL."""
    prefix = tmp_path / "nginx"
    for sub in ("logs", "routes", "upstreams", "openapi", *(f"temp/{t}" for t in TEMP_DIRS)):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "headers.conf").write_text(HEADERS)
    (prefix / "upstreams" / f"{name}.conf").write_text(render_upstream(name, upstream_port))
    (prefix / "routes" / f"{name}.conf").write_text(render_routes(name, prefixes))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    user = ""
    if os.geteuid() == 0:  # as Nginx.render_config: workers stay the invoking user
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
    config = prefix / "nginx.conf"
    config.write_text(
        render_config(
            user=user,
            prefix=str(prefix),
            routes=str(prefix / "routes"),
            upstreams=str(prefix / "upstreams"),
            host="127.0.0.1",
            port=port,
            limits=GatewayLimits(),
            openapi_file=str(prefix / "openapi" / "openapi.json"),
        )
    )
    binary = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    assert binary, "nginx is not installed (make setup)"
    argv = [binary, "-p", f"{prefix}/", "-c", str(config), "-e", "stderr", "-g", "daemon off;"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not port_open(Endpoint("127.0.0.1", port)):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the private gateway did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
