"""kube-score, a static checker of Kubernetes manifests, built from its Go module (a tool).

The chart policy test (tests/charts/test_chart_policy.py) runs it on the charts'
rendered manifests. kube-linter was the first choice; the Go module proxy does
not serve it, and kube-score builds in under a minute from empty caches.
"""

from __future__ import annotations

from devstack.go_tool import GoTool

# The newest tag the Go module proxy serves (it builds with Go 1.23 and later).
KUBE_SCORE_VERSION = "v1.20.0"

_PACKAGE = "github.com/zegl/kube-score"
_LDFLAGS = f"-s -w -X main.version={KUBE_SCORE_VERSION}"


class KubeScore(GoTool):
    name = "kube-score"
    description = f"kube-score {KUBE_SCORE_VERSION} manifest checker (tool, built with go install)"
    default = True
    module = _PACKAGE
    command = "cmd/kube-score"
    version = KUBE_SCORE_VERSION
    ldflags = _LDFLAGS
    version_args = ("version",)
    env_name = "KUBE_SCORE"
    version_hint = "the version ldflag no longer matches kube-score's main package"

    def version_error(self, reported: str) -> str | None:
        if f"version: {KUBE_SCORE_VERSION}," in reported:
            return None
        return f"built kube-score reports {reported.strip()!r}, expected {KUBE_SCORE_VERSION}"
