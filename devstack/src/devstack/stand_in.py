"""What every third-party stand-in component shares: a FastAPI app of ours under uvicorn.

The payment sandbox, the chat, SMS and Web Push stand-ins are the same shape: one
uvicorn process on loopback serving an app factory from a devstack package that
imports nothing else of devstack, a port a test may move (``<name>.port`` option or
``PRODUCTSTORE_<NAME>_PORT``), readiness from ``GET /healthz``, and credentials
generated once into the state directory (mode 0600) and kept across restarts. A
subclass names its app, its port and its files; this class does the rest.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import httpx

from devstack.component import Component
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec

HOST = "127.0.0.1"


class StandIn(Component):
    """A third party's stand-in: ``uvicorn <app_factory> --factory`` on HOST:port."""

    # ``module:function`` of the app factory.
    app_factory: ClassVar[str]
    default_port: ClassVar[int]
    ready_timeout = 30.0
    # Seconds uvicorn waits for open requests at stop (held answers must not stall it).
    graceful_shutdown_seconds: ClassVar[float | None] = None

    @property
    def port(self) -> int:
        option = f"PRODUCTSTORE_{self.name.upper().replace('-', '_')}_PORT"
        raw = self.ctx.options.get(f"{self.name}.port") or os.environ.get(option)
        return int(raw) if raw else self.default_port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- for subclasses ------------------------------------------------------
    def process_env(self) -> dict[str, str]:
        """The app's environment (its settings, e.g. which files hold its secrets)."""
        return {}

    def keep_secret(self, path: Path, make: Callable[[], str]) -> None:
        """``path`` holds a value made once (mode 0600), kept across restarts."""
        if not path.exists():
            self.write_generated(path, make() + "\n")
        path.chmod(0o600)

    # --- hooks ---------------------------------------------------------------
    def provision(self) -> bool:
        for module in ("fastapi", "uvicorn"):
            if importlib.util.find_spec(module) is None:
                raise DevstackError(
                    self.name,
                    f"{module} is not importable from {sys.executable}",
                    hint="run `make setup` (the workspace installs devstack's dependencies)",
                )
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"http": Endpoint(HOST, self.port)}

    def prepare(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.state_dir.chmod(0o700)

    def processes(self) -> list[ProcessSpec]:
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app_factory,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-proxy-headers",
        ]
        if self.graceful_shutdown_seconds is not None:
            argv += ["--timeout-graceful-shutdown", f"{self.graceful_shutdown_seconds:g}"]
        return [ProcessSpec(name=self.name, argv=argv, env=self.process_env(), cwd=self.state_dir)]

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200
