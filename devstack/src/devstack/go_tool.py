"""A tool component built with `go install` from its Go module: nothing to run.

helm and kube-score are built this way; a tool says its module, version,
ldflags and how to ask the built binary for its version, and this class
builds it into the cache, checks the binary reports that version, and puts
its path in the environment. A tool built another way (CoreDNS, from a main
package kept in devstack) overrides `fingerprint` and `compile`.
"""

from __future__ import annotations

import subprocess
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from devstack import artifacts, toolchains
from devstack.component import Component
from devstack.errors import DevstackError


class GoTool(Component):
    """A static (CGO off) command built from `<module>/<command>@<version>`."""

    requires: ClassVar[tuple[str, ...]] = ()
    module: ClassVar[str]
    command: ClassVar[str]
    version: ClassVar[str]
    ldflags: ClassVar[str]
    # Arguments that make the binary print its version; `version_error` reads the output.
    version_args: ClassVar[tuple[str, ...]]
    # The environment variable naming the binary for the tests and the Makefile.
    env_name: ClassVar[str]
    # What to do when the built binary reports another version.
    version_hint: ClassVar[str] = "the version ldflags no longer match the sources"

    @property
    def install_dir(self) -> Path:
        return self.paths.artifacts / f"{self.name}-{self.version}"

    @property
    def binary(self) -> Path:
        """The executable (exists once provisioned)."""
        return self.install_dir / self.name

    @property
    def package(self) -> str:
        return f"{self.module}/{self.command}@{self.version}"

    @property
    def fingerprint(self) -> str:
        """What the build depends on: a change provisions again."""
        return f"{self.package} ldflags={self.ldflags} cgo=0"

    def provision(self) -> bool:
        return artifacts.ensure(
            self.name,
            self.install_dir,
            self.fingerprint,
            self._build,
            verify_hashes=self.ctx.verify,
        )

    @abstractmethod
    def version_error(self, reported: str) -> str | None:
        """Why `reported` (the version command's output) is not the pinned version, if not."""

    def compile(self, out_dir: Path) -> None:
        """Put the binary `<name>` into out_dir: `go install <package>`."""
        # Static builds, like the projects' releases; also keeps the build off the C compiler.
        toolchains.go_install(
            self.name,
            self.package,
            out_dir,
            log_file=self.provision_log,
            ldflags=self.ldflags,
            env={"CGO_ENABLED": "0"},
        )

    def _build(self, out_dir: Path) -> None:
        self.compile(out_dir)
        built = out_dir / self.name
        try:
            reported = subprocess.run(
                [str(built), *self.version_args],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DevstackError(
                self.name,
                f"the freshly built {built} does not run: {exc}",
                log_file=self.provision_log,
                hint=f"run `devstack provision {self.name}` again; "
                "if it persists, clear `go clean -cache`",
            ) from exc
        problem = self.version_error(reported)
        if problem is not None:
            raise DevstackError(
                self.name, problem, log_file=self.provision_log, hint=self.version_hint
            )

    def env(self) -> dict[str, str]:
        return {self.env_name: str(self.binary)}
