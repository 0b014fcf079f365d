"""Fetching from the package registries: Maven Central jars and Go builds.

Both toolchains verify what they download (Maven with strict checksums, Go
against go.sum and the checksum database), keep their own caches outside the
repository (~/.m2, the Go module and build caches), and write into a
directory that artifacts.ensure() renames into place only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from devstack.artifacts import run

JAVA_HINT = (
    "install Java 17 and Maven (`make setup` does it: devstack/scripts/install-system-packages.sh)"
)
GO_HINT = "install Go >= 1.24 (`make setup` does it) and make sure the Go module proxy is reachable"


def maven_copy_dependencies(
    component: str,
    coordinates: Sequence[str],
    out_dir: Path,
    *,
    work_dir: Path,
    log_file: Path,
    exclusions: Sequence[str] = (),
) -> None:
    """Copy the artifacts `group:artifact:version` and their runtime dependencies to out_dir."""
    deps = []
    for coord in coordinates:
        group, artifact, version = coord.split(":")
        excl = "".join(
            f"<exclusion><groupId>{escape(e.split(':')[0])}</groupId>"
            f"<artifactId>{escape(e.split(':')[1])}</artifactId></exclusion>"
            for e in exclusions
        )
        deps.append(
            f"<dependency><groupId>{escape(group)}</groupId>"
            f"<artifactId>{escape(artifact)}</artifactId><version>{escape(version)}</version>"
            f"<exclusions>{excl}</exclusions></dependency>"
        )
    pom = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.productstore.devstack</groupId>
  <artifactId>{escape(component)}-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>{"".join(deps)}</dependencies>
</project>
"""
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "pom.xml").write_text(pom)
    run(
        component,
        [
            "mvn",
            "-B",
            "-q",
            "-C",  # strict checksums: a corrupt download fails
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={out_dir}",
        ],
        cwd=work_dir,
        log_file=log_file,
        hint=JAVA_HINT,
    )


def go_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for go commands: module mode, no VCS stamping, no toolchain switch."""
    env = {"GO111MODULE": "on", "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local"}
    env.update(extra or {})
    return env


def go_install(
    component: str,
    package_at_version: str,
    out_dir: Path,
    *,
    log_file: Path,
    ldflags: str = "-s -w",
    env: Mapping[str, str] | None = None,
) -> None:
    """`go install pkg@version` with its binary placed in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run(
        component,
        ["go", "install", "-trimpath", f"-ldflags={ldflags}", package_at_version],
        env=go_env({"GOBIN": str(out_dir), **(env or {})}),
        log_file=log_file,
        hint=GO_HINT,
    )


def go_build(
    component: str,
    module_dir: Path,
    packages: Sequence[str],
    out_dir: Path,
    *,
    log_file: Path,
    ldflags: str = "-s -w",
    env: Mapping[str, str] | None = None,
) -> None:
    """`go build` packages of the module in module_dir into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run(
        component,
        ["go", "build", "-trimpath", f"-ldflags={ldflags}", "-o", f"{out_dir}{os.sep}", *packages],
        cwd=module_dir,
        env=go_env(env),
        log_file=log_file,
        hint=GO_HINT,
    )


def go_mod_download_dir(
    component: str, module_at_version: str, *, log_file: Path, work_dir: Path
) -> Path:
    """Download one module (verified against go.sum/the checksum DB); return its source dir."""
    run(
        component,
        ["go", "mod", "download", module_at_version],
        cwd=work_dir,
        env=go_env(),
        log_file=log_file,
        hint=GO_HINT,
    )
    out = subprocess.run(
        # The machine's Go, as `run` above uses it (GO_HINT): devstack provisions no Go.
        ["go", "mod", "download", "-json", module_at_version],  # noqa: S607
        cwd=work_dir,
        env={**os.environ, **go_env()},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(json.loads(out.stdout)["Dir"])


def which(tool: str) -> str | None:
    return shutil.which(tool)
