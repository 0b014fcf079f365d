"""helm v3 CLI, built from its Go module (a tool: nothing to run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from devstack import artifacts, toolchains
from devstack.component import Component
from devstack.errors import DevstackError

# Newest v3 tag the Go module proxy serves that builds with our Go 1.26 toolchain;
# v3 rather than v4 because it is what the charts and docs we follow target.
HELM_VERSION = "v3.22.0"
# The tag's commit (the proxy's Origin.Hash), reported by `helm version`.
HELM_COMMIT = "144ca65f8501953fa8b41cd1d37c7223051c85b7"
# helm's Makefile derives these from its k8s.io/client-go (v0.37.0 => Kubernetes 1.37):
# the default capabilities for `helm template`/`helm lint` without a cluster.
HELM_K8S_MAJOR = "1"
HELM_K8S_MINOR = "37"

_PACKAGE = "helm.sh/helm/v3"
_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X {_PACKAGE}/internal/version.version={HELM_VERSION}",
        f"-X {_PACKAGE}/internal/version.gitCommit={HELM_COMMIT}",
        f"-X {_PACKAGE}/internal/version.gitTreeState=clean",
        f"-X {_PACKAGE}/pkg/lint/rules.k8sVersionMajor={HELM_K8S_MAJOR}",
        f"-X {_PACKAGE}/pkg/lint/rules.k8sVersionMinor={HELM_K8S_MINOR}",
        f"-X {_PACKAGE}/pkg/chartutil.k8sVersionMajor={HELM_K8S_MAJOR}",
        f"-X {_PACKAGE}/pkg/chartutil.k8sVersionMinor={HELM_K8S_MINOR}",
    ]
)
_FINGERPRINT = f"{_PACKAGE}/cmd/helm@{HELM_VERSION} ldflags={_LDFLAGS} cgo=0"


class Helm(Component):
    name = "helm"
    description = f"helm {HELM_VERSION} CLI (tool, built with go install)"
    default = True
    requires = ()

    @property
    def install_dir(self) -> Path:
        return self.paths.artifacts / f"helm-{HELM_VERSION}"

    @property
    def binary(self) -> Path:
        """The helm executable (exists once provisioned)."""
        return self.install_dir / "helm"

    def provision(self) -> bool:
        return artifacts.ensure(
            self.name,
            self.install_dir,
            _FINGERPRINT,
            self._build,
            verify_hashes=self.ctx.verify,
        )

    def _build(self, out_dir: Path) -> None:
        # helm's release builds are static (CGO off); also keeps the build off the C compiler.
        toolchains.go_install(
            self.name,
            f"{_PACKAGE}/cmd/helm@{HELM_VERSION}",
            out_dir,
            log_file=self.provision_log,
            ldflags=_LDFLAGS,
            env={"CGO_ENABLED": "0"},
        )
        built = out_dir / "helm"
        try:
            reported = subprocess.run(
                [str(built), "version", "--template", "{{.Version}}"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            raise DevstackError(
                self.name,
                f"the freshly built {built} does not run: {exc}",
                log_file=self.provision_log,
                hint="run `devstack provision helm` again; if it persists, clear `go clean -cache`",
            ) from exc
        if reported != HELM_VERSION:
            raise DevstackError(
                self.name,
                f"built helm reports version {reported!r}, expected {HELM_VERSION}",
                log_file=self.provision_log,
                hint="the version ldflags no longer match helm's sources: update _LDFLAGS",
            )

    def env(self) -> dict[str, str]:
        return {"HELM": str(self.binary)}
