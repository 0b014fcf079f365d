"""A Product Store service as a real process that a test may SIGKILL and start again.

The service runs as devstack runs it (`python -m uvicorn --factory <app factory>`),
its settings given as the environment a deployment would set (`settings_env`). The
listening socket is bound here, once, and handed to every incarnation (`--fd`): the
address stays the same across a kill and a restart, and connections made while no
process serves wait in the socket's backlog instead of being refused.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from productstore_common.settings import ServiceSettings

START_TIMEOUT_SECONDS = 120.0
_PASSED = ("PATH", "HOME", "LANG", "TMPDIR")


def settings_env(settings: ServiceSettings) -> dict[str, str]:
    """The environment that makes the service read `settings` (the fields set on it)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    env: dict[str, str] = {}
    for name in settings.model_fields_set:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = ",".join(str(item) for item in value)
        else:
            text = str(value)
        env[f"{prefix}{name.upper()}"] = text
    return env


class ServiceProcess:
    """One service on a loopback socket of its own; `start`, `kill` (SIGKILL), `stop`."""

    def __init__(self, name: str, app_factory: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.app_factory = app_factory
        self.env = env
        self.log_dir = log_dir
        self.incarnations = 0
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(1024)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}-{self.incarnations}.log"

    def start(self) -> None:
        """Start an incarnation and wait until /readyz answers 200 (bounded)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} runs"
        self.incarnations += 1
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app_factory,
            "--factory",
            "--fd",
            str(self._socket.fileno()),
            "--no-proxy-headers",
            "--no-access-log",
        ]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file().open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                # Only what the interpreter needs beside the settings: a stray
                # INVENTORY_* of the caller's shell must not change the service.
                env={**{k: os.environ[k] for k in _PASSED if k in os.environ}, **self.env},
                pass_fds=[self._socket.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert self.process.poll() is None, (
                f"{self.name} exited with {self.process.returncode}: "
                f"{self.log_file().read_text()[-3000:]}"
            )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.name} not ready: see {self.log_file()}"
            time.sleep(0.3)

    def kill(self) -> None:
        """SIGKILL the running incarnation (no shutdown hook runs) and reap it."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def close(self) -> None:
        self.stop()
        self._socket.close()


@contextmanager
def service_process(
    name: str, app_factory: str, settings: ServiceSettings, log_dir: Path
) -> Iterator[ServiceProcess]:
    """`app_factory` served with `settings` in a child process, started; stopped after."""
    served = ServiceProcess(name, app_factory, settings_env(settings), log_dir)
    try:
        served.start()
        yield served
    finally:
        served.close()
