"""devstack's `coredns` tool: CoreDNS built from the main package in
devstack/src/devstack/components/coredns_build/ with only the plugins the real node's
cluster DNS uses (ADR 0042), not every plugin of the release.

The first tests read the build module's files; the last ones build it (`provision`,
minutes on an empty Go build cache, a no-op once built) and ask the binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack import toolchains
from devstack.component import Context
from devstack.components import coredns as coredns_module
from devstack.components.coredns import (
    BUILD_DIR,
    BUILD_FILES,
    COREDNS_VERSION,
    CoreDns,
)
from devstack.components.node import Node
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.pytest_plugin import DevstackSession

# The Go package of each directive whose name differs from it.
PACKAGE_OF = {"prometheus": "metrics"}
# Registered (listed by -plugins) because the chosen plugins import them; not in
# DIRECTIVES, so a Corefile cannot use them.
PULLED_IN = {"debug", "dnstap", "metadata", "transfer"}
# What the release build has and this one must not: the cloud providers' SDKs and
# etcd's client are most of the release's compile time.
LEFT_OUT = {"route53", "azure", "clouddns", "etcd", "nomad", "file", "hosts", "rewrite"}


def _main_go() -> str:
    return (BUILD_DIR / "main.go").read_text()


def _main_go_directives() -> list[str]:
    block = re.search(r"var directives = \[\]string\{(.*?)\n\}", _main_go(), re.S)
    assert block, "main.go has no `var directives = []string{...}`"
    return re.findall(r'"([a-z0-9_]+)"', block.group(1))


# The directives main.go compiles in, in its (plugin.cfg's) order: main.go is their
# one list, and these tests hold it to the Corefile, the imports and the binary.
DIRECTIVES = tuple(_main_go_directives())


def _corefile_directives(corefile: str) -> set[str]:
    """The first word of each line directly inside a server block."""
    names: set[str] = set()
    depth = 0
    for raw in corefile.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if depth == 1 and not line.startswith("}"):
            names.add(line.split()[0])
        depth += line.count("{") - line.count("}")
    return names


def test_main_go_imports_exactly_the_directives_it_orders() -> None:
    imported = set(re.findall(r'_ "github.com/coredns/coredns/plugin/([a-z0-9_]+)"', _main_go()))
    assert imported == {PACKAGE_OF.get(d, d) for d in DIRECTIVES}
    assert "coredns/core/plugin" not in _main_go(), "the all-plugins bundle is what we avoid"
    assert "coremain.Run()" in _main_go() and "dnsserver.SetDirectives(directives)" in _main_go()


def test_go_mod_pins_the_coredns_version() -> None:
    go_mod = (BUILD_DIR / "go.mod").read_text()
    assert re.search(rf"^require github.com/coredns/coredns {COREDNS_VERSION}$", go_mod, re.M)
    assert "module local.productstore.devstack/coredns\n" in go_mod  # the binary's name
    assert f"github.com/coredns/coredns {COREDNS_VERSION} h1:" in (BUILD_DIR / "go.sum").read_text()


def test_the_node_corefile_uses_only_compiled_in_directives(tmp_path: Path) -> None:
    node = Node(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    used = _corefile_directives(node._corefile())
    assert {"bind", "errors", "health", "ready", "kubernetes", "cache"} <= used
    assert used <= set(DIRECTIVES), used - set(DIRECTIVES)


def test_a_change_to_the_build_module_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = CoreDns(Context(paths=Paths(cache=tmp_path / "c", state=tmp_path / "s")))
    before = tool.fingerprint
    copy = tmp_path / "coredns_build"
    shutil.copytree(BUILD_DIR, copy)
    monkeypatch.setattr(coredns_module, "BUILD_DIR", copy)
    assert tool.fingerprint == before
    for name in BUILD_FILES:
        text = (copy / name).read_text()
        (copy / name).write_text(text + "\n")
        assert tool.fingerprint != before, name
        (copy / name).write_text(text)
    assert tool.fingerprint == before
    assert f"coredns@{COREDNS_VERSION}" in before and "-trimpath" in before


@pytest.fixture(scope="module")
def coredns_build(devstack: DevstackSession) -> CoreDns:
    """The tool, provisioned (built once; then only its stamp is checked)."""
    component = devstack.stack.components[CoreDns.name]
    assert isinstance(component, CoreDns)
    try:
        component.provision()
    except DevstackError as exc:
        pytest.fail(str(exc), pytrace=False)
    return component


def _run(binary: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_built_coredns_has_only_its_plugins(coredns_build: CoreDns) -> None:
    version = _run(coredns_build.binary, "-version")
    assert f"CoreDNS-{COREDNS_VERSION.removeprefix('v')}" in version.stdout
    listing = _run(coredns_build.binary, "-plugins")
    assert listing.returncode == 0, listing.stderr
    # One registered plugin a line (caddy.DescribePlugins, the "dns." prefix dropped).
    plugins = {line.strip() for line in listing.stdout.splitlines() if line.strip()}
    assert plugins == set(DIRECTIVES) | PULLED_IN, listing.stdout
    assert not plugins & LEFT_OUT


def test_a_left_out_plugin_is_refused_at_start(coredns_build: CoreDns, tmp_path: Path) -> None:
    corefile = tmp_path / "Corefile"
    corefile.write_text(".:0 {\n    bind 127.0.0.1\n    route53 example.org.:Z1\n}\n")
    started = _run(coredns_build.binary, "-conf", str(corefile), timeout=60)
    assert started.returncode != 0
    # Not compiled in: refused by the parser (the release would try AWS's metadata server).
    assert "Unknown directive 'route53'" in started.stdout + started.stderr


def test_directives_follow_the_order_of_coredns_plugin_cfg(coredns_build: CoreDns) -> None:
    """Execution order is main.go's list: it must be plugin.cfg's, as in the release."""
    out = subprocess.run(
        ["go", "list", "-m", "-json", "github.com/coredns/coredns"],
        cwd=BUILD_DIR,
        env={**os.environ, **toolchains.go_env({"GOPROXY": "off", "GOFLAGS": "-mod=readonly"})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    module = json.loads(out.stdout)
    assert module["Version"] == COREDNS_VERSION
    generated = (Path(module["Dir"]) / "core/dnsserver/zdirectives.go").read_text()
    release_order = re.findall(r'^\s*"([a-z0-9_]+)",$', generated, re.M)
    assert set(DIRECTIVES) <= set(release_order)
    assert [d for d in release_order if d in DIRECTIVES] == list(DIRECTIVES)
