"""CoreDNS, the real node's cluster DNS, built with only the plugins it uses (a tool).

The node component runs it (see node.py): this only builds it, as the node's
requirement. Not `go install github.com/coredns/coredns`: that compiles every
plugin of plugin.cfg (the AWS, Azure and Google Cloud SDKs, etcd's client, ...).
CoreDNS's documented custom build instead: the main package in `coredns_build/`
(go.mod pinning CoreDNS, its go.sum, main.go importing the plugins below and
setting their order) built with `go build` (ADR 0042).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from devstack import toolchains
from devstack.go_tool import GoTool

# The newest release the Go module proxy lists (its go.mod asks for Go 1.26);
# coredns_build/go.mod requires the same.
COREDNS_VERSION = "v1.15.0"

# The Go main module devstack builds (shipped inside the package) and what of it
# the build depends on (hashed into the artifact's fingerprint).
BUILD_DIR = Path(__file__).with_name("coredns_build")
BUILD_FILES = ("go.mod", "go.sum", "main.go")


def build_digest() -> str:
    """sha256 over the build module's files (names and contents)."""
    digest = hashlib.sha256()
    for name in BUILD_FILES:
        digest.update(f"{name}\0".encode())
        digest.update((BUILD_DIR / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class CoreDns(GoTool):
    name = "coredns"
    description = f"CoreDNS {COREDNS_VERSION}, the real node's cluster DNS (tool, its plugins only)"
    module = "github.com/coredns/coredns"
    command = ""  # not installed from the module: see compile()
    version = COREDNS_VERSION
    # coremain.GitCommit is what `-version` prints after the version; no VCS here.
    ldflags = "-s -w -X github.com/coredns/coredns/coremain.GitCommit=release"
    version_args = ("-version",)
    env_name = "COREDNS"
    version_hint = (
        "CoreDNS's release no longer prints `CoreDNS-<version>` for -version, "
        "or coredns_build/go.mod requires another version than COREDNS_VERSION"
    )

    @property
    def package(self) -> str:
        return f"{self.module}@{self.version}"

    @property
    def fingerprint(self) -> str:
        return (
            f"{self.package} trimmed build sha256={build_digest()} "
            f"go build -trimpath ldflags={self.ldflags} cgo=0"
        )

    def compile(self, out_dir: Path) -> None:
        # The module's name ends in /coredns: `go build -o out_dir/` names the binary so.
        toolchains.go_build(
            self.name,
            BUILD_DIR,
            ["."],
            out_dir,
            log_file=self.provision_log,
            ldflags=self.ldflags,
            env={"CGO_ENABLED": "0"},
        )

    def version_error(self, reported: str) -> str | None:
        if f"CoreDNS-{COREDNS_VERSION.removeprefix('v')}" in reported:
            return None
        return f"built coredns reports {reported.strip()!r}, expected {COREDNS_VERSION}"
