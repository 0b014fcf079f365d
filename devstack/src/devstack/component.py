"""What every devstack component provides: provision, processes, readiness, env."""

from __future__ import annotations

import os
import shutil
from abc import ABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.process import Endpoint, ProcessSpec


@dataclass(frozen=True)
class Context:
    """What components share: where things live and how processes are owned."""

    paths: Paths
    # Processes started by a test session die with it (PR_SET_PDEATHSIG);
    # processes started by `devstack up` outlive the command.
    tie_to_parent: bool = False
    # Re-hash provisioned files instead of trusting sizes in the stamp.
    verify: bool = False
    # Free-form knobs (e.g. from CLI flags); components read their own keys.
    options: dict[str, str] = field(default_factory=dict)


class Component(ABC):
    """A server (with processes) or a tool (provision only).

    Subclasses set the class attributes and override the hooks they need.
    All hooks must be idempotent: `up` may run them against a half-started
    or already running component.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # Components that must be up (ready) before this one starts.
    requires: ClassVar[tuple[str, ...]] = ()
    # Started by a plain `devstack up`; others only when named.
    default: ClassVar[bool] = True
    ready_timeout: ClassVar[float] = 60.0
    # Printed with any start-up failure: the most likely fix.
    start_hint: ClassVar[str] = "see the log file"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # --- locations -----------------------------------------------------
    @property
    def paths(self) -> Paths:
        return self.ctx.paths

    @property
    def state_dir(self) -> Path:
        return self.ctx.paths.component_dir(self.name)

    @property
    def log_file(self) -> Path:
        return self.ctx.paths.log_file(self.name)

    @property
    def provision_log(self) -> Path:
        return self.ctx.paths.cache / "logs" / f"provision-{self.name}.log"

    def pid_file(self, process_name: str) -> Path:
        return self.ctx.paths.pid_file(process_name)

    def log_file_for(self, process_name: str) -> Path:
        """Log of one process; components with one process use log_file."""
        return self.ctx.paths.log_file(process_name)

    # --- shared helpers ----------------------------------------------------
    def system_binary(self, executable: str, package: str) -> Path:
        """An executable from a Debian package that `make setup` installs."""
        # /usr/sbin (nginx) is not on every user's PATH.
        search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"])
        found = shutil.which(executable, path=search)
        if found is None:
            raise DevstackError(
                self.name,
                f"{executable} is not installed (Debian package {package})",
                hint="run `make setup` (devstack/scripts/install-system-packages.sh installs it)",
            )
        return Path(found)

    def write_generated(self, path: Path, text: str) -> None:
        """Write a generated config file atomically, so a reader never sees half of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        tmp.replace(path)

    # --- hooks ---------------------------------------------------------
    def provision(self) -> bool:
        """Download/build what the component needs. True if anything was done."""
        return False

    def processes(self) -> list[ProcessSpec]:
        """The OS processes to start, in order. Empty for tools."""
        return []

    def endpoints(self) -> dict[str, Endpoint]:
        """Named TCP endpoints, checked free before start and shown in status."""
        return {}

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Write config files, format storage: runs before the processes start."""

    def ready(self) -> bool:
        """True once the component answers a real request."""
        return True

    def after_ready(self) -> None:  # noqa: B027 - optional hook
        """One-time set-up once ready (install CRDs, register a node, ...)."""

    def env(self) -> dict[str, str]:
        """Connection settings for clients, exported by `devstack env`."""
        return {}

    def purge(self) -> None:
        """Remove the component's data (after it stopped)."""
        shutil.rmtree(self.state_dir, ignore_errors=True)
