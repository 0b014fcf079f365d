"""CoreDNS, the real node's cluster DNS, built from its Go module (a tool).

The node component runs it (see node.py): this only builds it, with `go install`
like the other Go tools, as the node's requirement.
"""

from __future__ import annotations

from devstack.go_tool import GoTool

# The newest release the Go module proxy lists (its go.mod asks for Go 1.26).
COREDNS_VERSION = "v1.15.0"


class CoreDns(GoTool):
    name = "coredns"
    description = f"CoreDNS {COREDNS_VERSION}, the real node's cluster DNS (tool, go install)"
    # The real node's cluster DNS, built and started with it.
    module = "github.com/coredns/coredns"
    command = ""  # the module's root package is the command
    version = COREDNS_VERSION
    # coremain.GitCommit is what `-version` prints after the version; no VCS here.
    ldflags = "-s -w -X github.com/coredns/coredns/coremain.GitCommit=release"
    version_args = ("-version",)
    env_name = "COREDNS"
    version_hint = "CoreDNS's release no longer prints `CoreDNS-<version>` for -version"

    @property
    def package(self) -> str:
        return f"{self.module}@{self.version}"

    def version_error(self, reported: str) -> str | None:
        if f"CoreDNS-{COREDNS_VERSION.removeprefix('v')}" in reported:
            return None
        return f"built coredns reports {reported.strip()!r}, expected {COREDNS_VERSION}"
