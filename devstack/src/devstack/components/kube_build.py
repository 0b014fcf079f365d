"""Building the Kubernetes control plane, kwok and the third-party CRDs from Go modules.

The control plane is built from the k8s.io/kubernetes module itself: a scratch
module requires it and pins every staging module (k8s.io/api, client-go, ...)
to its published v0.x twin, which is what k8s.io/kubernetes's own
`replace => ./staging/...` lines stand for. etcd is built from its server
module (etcdmain), at the version Kubernetes itself depends on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from devstack import toolchains
from devstack.artifacts import run
from devstack.errors import DevstackError

MODULE = "productstore.local/k8sbuild"
# Fixed (not "now") so the same pins always give the same binaries and the
# same Go build cache keys.
BUILD_DATE = "2026-01-01T00:00:00Z"
# Bump when the build recipe changes, so existing artifacts are rebuilt.
RECIPE = 1

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
_K8S_PACKAGES = tuple(f"k8s.io/kubernetes/cmd/{b}" for b in BINARIES if b != "etcd")
# The real node's binaries: a scratch module of their own, so building them
# never invalidates the control plane's artifact (the Go build cache is shared).
NODE_BINARIES = ("kubelet", "kube-proxy")
_NODE_PACKAGES = tuple(f"k8s.io/kubernetes/cmd/{b}" for b in NODE_BINARIES)

_ETCD_MAIN = """package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""

# Build-tagged imports: `go mod tidy` keeps the commands' dependencies in go.mod.
_TOOLS_GO = "//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"

_STAGING_RE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s*=>\s*\./staging/\S+\s*$", re.MULTILINE)
_GO_DIRECTIVE_RE = re.compile(r"^go\s+(\S+)\s*$", re.MULTILINE)

# kwok's default node and pod lifecycle (what kwokctl installs): nodes become
# Ready and renew a lease, scheduled pods become Running.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)

_HINT = toolchains.GO_HINT


def staging_version(kubernetes_version: str) -> str:
    """v1.34.4 -> v0.34.4: the tag of the staging modules published with a release."""
    major, _, rest = kubernetes_version.removeprefix("v").partition(".")
    if major != "1" or not rest:
        raise ValueError(f"unexpected Kubernetes version {kubernetes_version}")
    return f"v0.{rest}"


def version_ldflags(kubernetes_version: str) -> str:
    """The linker flags of an official build: strip, and stamp the version."""
    major, minor = kubernetes_version.removeprefix("v").split(".")[:2]
    stamps = {
        "gitVersion": kubernetes_version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": BUILD_DATE,
    }
    flags = ["-s", "-w"]
    # component-base feeds the servers' /version, client-go kubectl's client version.
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.{key}={value}" for key, value in stamps.items()]
    return " ".join(flags)


def control_plane_fingerprint(kubernetes_version: str) -> str:
    ldflags = version_ldflags(kubernetes_version)
    return f"recipe={RECIPE};kubernetes={kubernetes_version};ldflags={ldflags}"


def _go_mod(kubernetes_go_mod: str, kubernetes_version: str) -> str:
    staging = sorted(set(_STAGING_RE.findall(kubernetes_go_mod)))
    go_directive = _GO_DIRECTIVE_RE.search(kubernetes_go_mod)
    if not staging or go_directive is None:
        raise ValueError("no staging replace lines or go directive in k8s.io/kubernetes's go.mod")
    pinned = staging_version(kubernetes_version)
    replaces = "".join(f"\t{mod} => {mod} {pinned}\n" for mod in staging)
    return (
        f"module {MODULE}\n\ngo {go_directive.group(1)}\n\n"
        f"require k8s.io/kubernetes {kubernetes_version}\n\nreplace (\n{replaces})\n"
    )


def _scratch_module(
    component: str,
    *,
    kubernetes_version: str,
    build_dir: Path,
    download_dir: Path,
    log_file: Path,
    packages: tuple[str, ...],
) -> None:
    """A module requiring k8s.io/kubernetes whose go.mod keeps `packages`' dependencies."""
    download_dir.mkdir(parents=True, exist_ok=True)
    k8s_src = toolchains.go_mod_download_dir(
        component,
        f"k8s.io/kubernetes@{kubernetes_version}",
        log_file=log_file,
        work_dir=download_dir,
    )
    try:
        go_mod = _go_mod((k8s_src / "go.mod").read_text(), kubernetes_version)
    except ValueError as exc:
        raise DevstackError(component, str(exc), log_file=log_file, hint=_HINT) from exc
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "go.mod").write_text(go_mod)
    imports = "".join(f'\t_ "{pkg}"\n' for pkg in packages)
    (build_dir / "tools.go").write_text(_TOOLS_GO.format(imports=imports))
    run(
        component,
        ["go", "mod", "tidy"],
        cwd=build_dir,
        env=toolchains.go_env(),
        log_file=log_file,
        hint=_HINT,
    )


def _check_version(component: str, binary: Path, kubernetes_version: str, log_file: Path) -> None:
    reported = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if reported != f"Kubernetes {kubernetes_version}":
        raise DevstackError(
            component,
            f"the built {binary.name} reports {reported!r}, not {kubernetes_version}",
            log_file=log_file,
            hint="remove the build directory and provision again",
        )


def build_node(
    component: str,
    out: Path,
    *,
    kubernetes_version: str,
    build_dir: Path,
    download_dir: Path,
    log_file: Path,
) -> None:
    """Build kubelet and kube-proxy into out/bin, the same way as the control plane."""
    _scratch_module(
        component,
        kubernetes_version=kubernetes_version,
        build_dir=build_dir,
        download_dir=download_dir,
        log_file=log_file,
        packages=_NODE_PACKAGES,
    )
    toolchains.go_build(
        component,
        build_dir,
        list(_NODE_PACKAGES),
        out / "bin",
        log_file=log_file,
        ldflags=version_ldflags(kubernetes_version),
    )
    for name in NODE_BINARIES:
        _check_version(component, out / "bin" / name, kubernetes_version, log_file)


def build_control_plane(
    component: str,
    out: Path,
    *,
    kubernetes_version: str,
    build_dir: Path,
    download_dir: Path,
    log_file: Path,
) -> None:
    """Build etcd, kube-apiserver, -controller-manager, -scheduler and kubectl into out/bin."""
    download_dir.mkdir(parents=True, exist_ok=True)
    k8s_src = toolchains.go_mod_download_dir(
        component,
        f"k8s.io/kubernetes@{kubernetes_version}",
        log_file=log_file,
        work_dir=download_dir,
    )
    try:
        go_mod = _go_mod((k8s_src / "go.mod").read_text(), kubernetes_version)
    except ValueError as exc:
        raise DevstackError(component, str(exc), log_file=log_file, hint=_HINT) from exc
    (build_dir / "etcd").mkdir(parents=True, exist_ok=True)
    (build_dir / "go.mod").write_text(go_mod)
    (build_dir / "etcd" / "main.go").write_text(_ETCD_MAIN)
    imports = "".join(f'\t_ "{pkg}"\n' for pkg in _K8S_PACKAGES)
    (build_dir / "tools.go").write_text(_TOOLS_GO.format(imports=imports))
    run(
        component,
        ["go", "mod", "tidy"],
        cwd=build_dir,
        env=toolchains.go_env(),
        log_file=log_file,
        hint=_HINT,
    )
    toolchains.go_build(
        component,
        build_dir,
        ["./etcd", *_K8S_PACKAGES],
        out / "bin",
        log_file=log_file,
        ldflags=version_ldflags(kubernetes_version),
    )
    reported = subprocess.run(
        [str(out / "bin" / "kube-apiserver"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if reported != f"Kubernetes {kubernetes_version}":
        raise DevstackError(
            component,
            f"the built kube-apiserver reports {reported!r}, not {kubernetes_version}",
            log_file=log_file,
            hint="remove the build directory and provision again",
        )


def build_kwok(
    component: str, out: Path, *, kwok_version: str, download_dir: Path, log_file: Path
) -> None:
    """kwok into out/bin, and its default lifecycle stages into out/stages.yaml."""
    toolchains.go_install(
        component, f"sigs.k8s.io/kwok/cmd/kwok@{kwok_version}", out / "bin", log_file=log_file
    )
    download_dir.mkdir(parents=True, exist_ok=True)
    src = toolchains.go_mod_download_dir(
        component, f"sigs.k8s.io/kwok@{kwok_version}", log_file=log_file, work_dir=download_dir
    )
    docs = [(src / rel).read_text().strip() + "\n" for rel in KWOK_STAGES]
    (out / "stages.yaml").write_text("---\n".join(docs))


def fetch_crds(
    component: str,
    out: Path,
    *,
    sources: dict[str, tuple[str, list[str]]],
    download_dir: Path,
    log_file: Path,
) -> None:
    """Copy CRD manifests out of Go modules: {dir name: (module@version, [file globs])}."""
    download_dir.mkdir(parents=True, exist_ok=True)
    for name, (module, patterns) in sources.items():
        src = toolchains.go_mod_download_dir(
            component, module, log_file=log_file, work_dir=download_dir
        )
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            matches = sorted(src.glob(pattern))
            if not matches:
                raise DevstackError(
                    component,
                    f"{module} has no {pattern}",
                    log_file=log_file,
                    hint="the pinned version moved its CRDs: update the pattern",
                )
            for path in matches:
                # copyfile, not copy2: module cache files are read-only.
                shutil.copyfile(path, target / path.name)
