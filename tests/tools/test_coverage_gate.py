"""The coverage gate: per-package sums, floors, and measuring the processes tests start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import coverage
import pytest

from tools.coverage_gate import (
    FLOORS,
    PackageCoverage,
    load_floors,
    package_of,
    per_package,
    table,
    verdicts,
)

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    "productstore_auth",
    "productstore_catalog",
    "productstore_common",
    "productstore_contracts",
    "productstore_inventory",
    "productstore_orders",
    "productstore_operator",
    "productstore_reviews",
    "productstore_wishlist",
    "productstore_notifications",
    "devstack",
}


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("/repo/services/auth/src/productstore_auth/app/main.py", "productstore_auth"),
        ("/repo/devstack/src/devstack/components/helm.py", "devstack"),
        ("/repo/operator/src/productstore_operator/__main__.py", "productstore_operator"),
        # Only the member's own `src`: not one inside a package, nor above the checkout.
        ("/repo/devstack/src/devstack/src/x.py", "devstack"),
        ("/src/repo/devstack/src/devstack/cli.py", "devstack"),
        ("/repo/tests/common/tinyapp.py", None),
    ],
)
def test_package_of(path: str, package: str | None) -> None:
    root = Path("/src/repo") if path.startswith("/src/") else Path("/repo")
    assert package_of(path, root) == package


def _summary(
    statements: int, covered: int, branches: int, covered_branches: int
) -> dict[str, dict[str, int]]:
    return {
        "summary": {
            "num_statements": statements,
            "covered_lines": covered,
            "num_branches": branches,
            "covered_branches": covered_branches,
        }
    }


def test_per_package_sums_lines_and_branches_like_coverage() -> None:
    measured = per_package(
        root=Path("/r"),
        files={
            "/r/services/auth/src/productstore_auth/a.py": _summary(10, 9, 4, 2),
            "/r/services/auth/src/productstore_auth/b.py": _summary(10, 5, 0, 0),
            "/r/devstack/src/devstack/c.py": _summary(0, 0, 0, 0),
            "/r/tests/t.py": _summary(5, 5, 0, 0),
        },
    )
    assert measured == {
        "productstore_auth": PackageCoverage("productstore_auth", 20, 14, 4, 2),
        "devstack": PackageCoverage("devstack", 0, 0, 0, 0),
    }
    # (14 + 2) / (20 + 4): coverage.py's own total; an empty package is complete.
    assert measured["productstore_auth"].percent == pytest.approx(100 * 16 / 24)
    assert measured["devstack"].percent == 100.0


@pytest.mark.parametrize(
    ("measured", "floors", "problems"),
    [
        ({"a": (10, 9)}, {"a": 90.0}, []),
        ({"a": (10, 8)}, {"a": 90.0}, ["a: 80.0 % is below its floor 90 %"]),
        ({}, {"a": 50.0}, ["a: no coverage data at all (is it in source_pkgs?)"]),
        (
            {"a": (1, 1), "b": (1, 1)},
            {"a": 50.0},
            ["b: measured but has no floor in coverage-floors.toml"],
        ),
    ],
    ids=["at the floor", "below", "not measured", "no floor"],
)
def test_verdicts(
    measured: dict[str, tuple[int, int]], floors: dict[str, float], problems: list[str]
) -> None:
    packages = {name: PackageCoverage(name, *lines) for name, lines in measured.items()}
    assert verdicts(packages, floors) == problems


def test_table_hints_at_raising_a_floor_left_behind() -> None:
    rows = table(
        [PackageCoverage("a", 100, 95), PackageCoverage("b", 100, 50)], {"a": 90.0, "b": 50.0}
    ).splitlines()
    assert rows[1].startswith("a ") and rows[1].endswith("(raise the floor)")
    assert rows[2].startswith("b ") and "raise" not in rows[2]


def test_every_measured_package_has_a_floor() -> None:
    config = coverage.Coverage(config_file=str(REPO / "pyproject.toml")).config
    assert set(config.source_pkgs) == PACKAGES
    assert set(load_floors(FLOORS)) == PACKAGES


# A child run the way devstack runs a service: its own session, stopped with
# SIGTERM by devstack.process.stop, as the pytest plugin does at session end.
_CHILD = """
import socket, sys, time
from pathlib import Path
import httpx
from devstack import process

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
argv = [sys.executable, "-m", "uvicorn", "tests.common.tinyapp:make_app", "--factory",
        "--port", str(port)]
state = Path(sys.argv[1])
process.start(process.ProcessSpec("tiny", argv), log_file=state / "log", pid_file=state / "pid")
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
            break
    except httpx.TransportError:
        time.sleep(0.2)
else:
    sys.exit("tinyapp did not start")
assert process.stop(state / "pid")
"""


def test_a_service_devstack_starts_and_stops_is_measured_to_its_shutdown(tmp_path: Path) -> None:
    """The repository's coverage settings measure a SIGTERM-stopped child to its last line.

    Without `sigterm = true` uvicorn re-raises SIGTERM after its graceful
    shutdown, the process dies before atexit, and its data file is never written.
    """
    data = tmp_path / "data" / "coverage"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")},
        "COVERAGE_FILE": str(data),
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            f"--rcfile={REPO / 'pyproject.toml'}",
            str(script),
            str(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(data.parent.glob("coverage.*"))
    assert len(files) == 2, (files, (tmp_path / "log").read_text())
    app = REPO / "services" / "common" / "src" / "productstore_common" / "app.py"
    stopping = next(
        number
        for number, line in enumerate(app.read_text().splitlines(), start=1)
        if '"%s %s stopping"' in line
    )
    measured: list[set[int]] = []
    for path in files:
        part = coverage.CoverageData(str(path))
        part.read()
        measured.append(set(part.lines(str(app)) or ()))
    # The child, not the parent, ran the app, down to its shutdown's log line.
    assert any(stopping in lines for lines in measured), json.dumps(
        [sorted(lines)[-5:] for lines in measured]
    )
