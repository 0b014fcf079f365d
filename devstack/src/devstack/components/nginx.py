"""nginx (Debian nginx-light) as the API gateway on 127.0.0.1:8080, and the wrk tool.

nginx runs in the foreground with its prefix, pid file, temp directories and
logs all in the state directory, so it needs no root-owned paths. Services
add their routes by dropping ``location`` snippets (``<service>.conf``) into
``routes/`` (included in the gateway's ``server`` block) and ``upstream``
blocks into ``upstreams/`` (http level), then call ``Nginx.reload()``.

The gateway's own features (request ids, security headers, gzip, rate and
body limits, problem+json errors, the merged OpenAPI document and Swagger UI)
are in the config text of nginx_conf.py. ``after_ready`` (which ``devstack up``
also runs for a running nginx) rewrites that config and reloads when it changed.
"""

from __future__ import annotations

import grp
import importlib.util
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import httpx

from devstack.component import Component
from devstack.components.nginx_conf import (
    DOCS_INDEX,
    DOCS_INIT,
    HEADERS,
    GatewayLimits,
    render_config,
)
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec, children_of_pid_file, wait_until_gone

HOST = "127.0.0.1"
PORT = 8080
# Old workers finish their in-flight requests before they exit.
RELOAD_TIMEOUT_SECONDS = 15.0
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
# Swagger UI's files from the PyPI package swagger-ui-py (a devstack dependency).
SWAGGER_UI_PACKAGE = "swagger_ui"
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "index.css", "favicon-32x32.png")
# Where the services' OpenAPI documents and the merged one live (see services.py).
OPENAPI_DIR = "openapi"
MERGED_OPENAPI = "openapi.json"
_EMPTY_OPENAPI = (
    '{"openapi": "3.1.0", "info": {"title": "Product Store API", "version": "0.1.0", '
    '"description": "No service has registered yet."}, "paths": {}}\n'
)


class Nginx(Component):
    name = "nginx"
    description = "nginx gateway on 127.0.0.1:8080"
    default = True
    requires = ()
    ready_timeout = 15.0
    start_hint = "run `make setup` to install nginx-light; check that port 8080 is free"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{PORT}"

    @property
    def binary(self) -> Path:
        return self.system_binary("nginx", "nginx-light")

    @property
    def prefix(self) -> Path:
        return self.state_dir

    @property
    def config_file(self) -> Path:
        return self.state_dir / "nginx.conf"

    @property
    def routes_dir(self) -> Path:
        """Drop ``<service>.conf`` files with ``location`` blocks here."""
        return self.state_dir / "routes"

    @property
    def upstreams_dir(self) -> Path:
        """Drop ``<service>.conf`` files with ``upstream`` blocks here (http level)."""
        return self.state_dir / "upstreams"

    @property
    def openapi_file(self) -> Path:
        """The merged OpenAPI document served at /api/openapi.json."""
        return self.state_dir / OPENAPI_DIR / MERGED_OPENAPI

    @property
    def docs_dir(self) -> Path:
        return self.state_dir / "docs"

    @property
    def access_log(self) -> Path:
        return self.state_dir / "logs" / "access.log"

    @property
    def limits(self) -> GatewayLimits:
        return GatewayLimits.from_context(self.ctx.options)

    def provision(self) -> bool:
        self.binary  # noqa: B018 - fails early with the install hint
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"http": Endpoint(HOST, PORT)}

    def render_config(self) -> str:
        # As root, nginx would switch workers to `nobody`, who cannot enter the
        # state directory under /root; keep the workers as the invoking user.
        user = ""
        if os.geteuid() == 0:
            user = (
                f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};\n"
            )
        return render_config(
            user=user,
            prefix=str(self.prefix),
            routes=str(self.routes_dir),
            upstreams=str(self.upstreams_dir),
            host=HOST,
            port=PORT,
            limits=self.limits,
            openapi_file=str(self.openapi_file),
        )

    def _write_files(self) -> str | None:
        """Write the config and the files it serves; the previous config if it changed."""
        for sub in ("logs", "routes", "upstreams", OPENAPI_DIR, *(f"temp/{t}" for t in TEMP_DIRS)):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_docs()
        if not self.openapi_file.exists():
            self.write_generated(self.openapi_file, _EMPTY_OPENAPI)
        headers = self.state_dir / "headers.conf"
        if not headers.exists() or headers.read_text() != HEADERS:
            self.write_generated(headers, HEADERS)
        config = self.render_config()
        previous = self.config_file.read_text() if self.config_file.exists() else ""
        if previous == config:
            return None
        self.write_generated(self.config_file, config)
        return previous

    def _write_docs(self) -> None:
        """Swagger UI at /api/docs/: the package's files and a page that loads ours."""
        spec = importlib.util.find_spec(SWAGGER_UI_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise DevstackError(
                self.name,
                f"{SWAGGER_UI_PACKAGE} (PyPI swagger-ui-py) is not importable",
                hint="run `make setup` (devstack depends on swagger-ui-py)",
            )
        static = Path(next(iter(spec.submodule_search_locations))) / "static"
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        for name in SWAGGER_UI_FILES:
            target = self.docs_dir / name
            if not target.exists() or target.stat().st_size != (static / name).stat().st_size:
                shutil.copyfile(static / name, target)
        for name, text in (("index.html", DOCS_INDEX), ("init.js", DOCS_INIT)):
            self.write_generated(self.docs_dir / name, text)

    def prepare(self) -> None:
        self._write_files()

    def after_ready(self) -> None:
        """Bring a running gateway up to date (new limits, a newer devstack's config)."""
        previous = self._write_files()
        if previous is None:
            return
        try:
            self.reload()
        except DevstackError:
            # The running nginx kept its old config; keep the file in step with it.
            if previous:
                self.write_generated(self.config_file, previous)
            raise

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary),
                    "-p",
                    f"{self.prefix}/",
                    "-c",
                    str(self.config_file),
                    # -e: nginx opens its compiled-in error log before reading the config.
                    "-e",
                    "stderr",
                    "-g",
                    "daemon off;",
                ],
                cwd=self.state_dir,
            )
        ]

    def _control(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), "-p", f"{self.prefix}/", "-c", str(self.config_file), "-e"]
        return subprocess.run(
            [*argv, "stderr", *args], capture_output=True, text=True, timeout=30, check=False
        )

    def reload(self) -> None:
        """Validate the config (with the route snippets) and reload the running nginx."""
        old_workers = children_of_pid_file(self.prefix / "nginx.pid")
        for args in (("-t", "-q"), ("-s", "reload")):
            result = self._control(*args)
            if result.returncode != 0:
                raise DevstackError(
                    self.name,
                    f"`nginx {' '.join(args)}` failed:\n{result.stderr.strip()}",
                    log_file=self.log_file,
                    hint=f"fix the route snippets in {self.routes_dir}",
                )
        # Until the old workers exit, one of them may still take a new connection and
        # answer with the old routes: callers expect the new config on return.
        wait_until_gone(old_workers, RELOAD_TIMEOUT_SECONDS)

    def ready(self) -> bool:
        response = httpx.get(f"{self.url}/healthz", timeout=2.0)
        return response.status_code == 200

    def env(self) -> dict[str, str]:
        return {"GATEWAY_URL": self.url}


class Wrk(Component):
    name = "wrk"
    description = "wrk HTTP benchmark tool (Debian, tool)"

    @property
    def binary(self) -> Path:
        return self.system_binary("wrk", "wrk")

    def provision(self) -> bool:
        self.binary  # noqa: B018 - fails early with the install hint
        return False

    def env(self) -> dict[str, str]:
        found = shutil.which("wrk")
        return {"WRK": found} if found else {}
