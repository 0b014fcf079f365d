"""helm v3 CLI, built from its Go module (a tool: nothing to run)."""

from __future__ import annotations

from devstack.go_tool import GoTool

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


class Helm(GoTool):
    name = "helm"
    description = f"helm {HELM_VERSION} CLI (tool, built with go install)"
    default = True
    module = _PACKAGE
    command = "cmd/helm"
    version = HELM_VERSION
    ldflags = _LDFLAGS
    version_args = ("version", "--template", "{{.Version}}")
    env_name = "HELM"
    version_hint = "the version ldflags no longer match helm's sources: update _LDFLAGS"

    def version_error(self, reported: str) -> str | None:
        if reported.strip() == HELM_VERSION:
            return None
        return f"built helm reports version {reported.strip()!r}, expected {HELM_VERSION}"
