"""kube-score, a static checker of Kubernetes manifests, built from its Go module (a tool).

The chart policy test (tests/charts/test_chart_policy.py) runs it on the charts'
rendered manifests. kube-linter was the first choice; the Go module proxy does
not serve it, and kube-score builds in under a minute from empty caches.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from devstack import artifacts, toolchains
from devstack.component import Component
from devstack.errors import DevstackError

# The newest tag the Go module proxy serves (it builds with Go 1.23 and later).
KUBE_SCORE_VERSION = "v1.20.0"

_PACKAGE = "github.com/zegl/kube-score"
_LDFLAGS = f"-s -w -X main.version={KUBE_SCORE_VERSION}"
_FINGERPRINT = f"{_PACKAGE}/cmd/kube-score@{KUBE_SCORE_VERSION} ldflags={_LDFLAGS} cgo=0"


class KubeScore(Component):
    name = "kube-score"
    description = f"kube-score {KUBE_SCORE_VERSION} manifest checker (tool, built with go install)"
    default = True
    requires = ()

    @property
    def install_dir(self) -> Path:
        return self.paths.artifacts / f"kube-score-{KUBE_SCORE_VERSION}"

    @property
    def binary(self) -> Path:
        """The kube-score executable (exists once provisioned)."""
        return self.install_dir / "kube-score"

    def provision(self) -> bool:
        return artifacts.ensure(
            self.name,
            self.install_dir,
            _FINGERPRINT,
            self._build,
            verify_hashes=self.ctx.verify,
        )

    def _build(self, out_dir: Path) -> None:
        toolchains.go_install(
            self.name,
            f"{_PACKAGE}/cmd/kube-score@{KUBE_SCORE_VERSION}",
            out_dir,
            log_file=self.provision_log,
            ldflags=_LDFLAGS,
            env={"CGO_ENABLED": "0"},
        )
        built = out_dir / "kube-score"
        try:
            reported = subprocess.run(
                [str(built), "version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise DevstackError(
                self.name,
                f"the freshly built {built} does not run: {exc}",
                log_file=self.provision_log,
                hint="run `devstack provision kube-score` again",
            ) from exc
        if f"version: {KUBE_SCORE_VERSION}," not in reported:
            raise DevstackError(
                self.name,
                f"built kube-score reports {reported.strip()!r}, expected {KUBE_SCORE_VERSION}",
                log_file=self.provision_log,
                hint="the version ldflag no longer matches kube-score's main package",
            )

    def env(self) -> dict[str, str]:
        return {"KUBE_SCORE": str(self.binary)}
