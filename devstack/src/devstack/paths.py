"""Where devstack keeps what it provisions (cache) and what it runs (state)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "PRODUCTSTORE_CACHE"
STATE_ENV = "PRODUCTSTORE_STATE"


@dataclass(frozen=True)
class Paths:
    """Cache: pinned downloads and builds, shared by every run and checkout.

    State: data directories, logs, pid files and generated credentials of the
    running stack. Both live outside the repository.
    """

    cache: Path
    state: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Paths:
        env = dict(os.environ) if env is None else env
        cache = Path(env.get(CACHE_ENV) or Path.home() / ".cache" / "productstore")
        state = Path(env.get(STATE_ENV) or cache / "state")
        return cls(cache=cache.expanduser().resolve(), state=state.expanduser().resolve())

    @property
    def artifacts(self) -> Path:
        """Provisioned software, one directory per component and version."""
        return self.cache / "artifacts"

    @property
    def bin(self) -> Path:
        """Built or linked executables (kube-apiserver, helm, ...)."""
        return self.cache / "bin"

    @property
    def builds(self) -> Path:
        """Scratch modules for Go/Maven builds (kept so rebuilds are incremental)."""
        return self.cache / "build"

    def component_dir(self, name: str) -> Path:
        return self.state / name

    def log_file(self, name: str) -> Path:
        return self.state / "logs" / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.state / "pids" / f"{name}.pid"
