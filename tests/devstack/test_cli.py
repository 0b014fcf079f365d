"""The devstack command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path


def _devstack(*args: str, state: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRODUCTSTORE_STATE": str(state)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_env_prints_shell_exports(tmp_path: Path) -> None:
    result = _devstack("env", "redis", state=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "export REDIS_URL=redis://127.0.0.1:6379/0" in result.stdout.splitlines()
    assert f"export PRODUCTSTORE_STATE={tmp_path}" in result.stdout.splitlines()


def _exports(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    exports: dict[str, str] = {}
    for line in result.stdout.splitlines():
        keyword, assignment = shlex.split(line)
        assert keyword == "export", line
        key, _, value = assignment.partition("=")
        exports[key] = value
    return exports


def test_env_puts_the_workspace_and_pinned_tools_first_on_path_once(tmp_path: Path) -> None:
    first = _exports(_devstack("env", state=tmp_path, path="/usr/bin:/bin"))
    folders = first["PATH"].split(os.pathsep)
    # devstack, pytest, uvicorn of this workspace, then the pinned kubectl and helm.
    assert folders[:3] == [
        sysconfig.get_path("scripts"),
        str(Path(first["KUBECTL"]).parent),
        str(Path(first["HELM"]).parent),
    ]
    assert folders[3:] == ["/usr/bin", "/bin"]
    # Evaluating the exports again (a second `eval`) changes nothing.
    again = _exports(_devstack("env", state=tmp_path, path=first["PATH"]))
    assert again["PATH"] == first["PATH"]


def test_unknown_component_is_a_clear_error(tmp_path: Path) -> None:
    result = _devstack("up", "mongodb", state=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("devstack: error: mongodb: unknown component; known: ")
    assert "Traceback" not in result.stderr


def test_logs_of_a_never_started_component(tmp_path: Path) -> None:
    result = _devstack("logs", "redis", state=tmp_path)
    assert result.returncode == 1
    assert "redis: has no log yet" in result.stderr


def test_status_json_lists_servers_not_tools(tmp_path: Path) -> None:
    result = _devstack("status", "--json", state=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {row["name"] for row in json.loads(result.stdout)}
    assert "redis" in names
    assert "wrk" not in names


def test_dashboards_writes_the_sample_stores_files(tmp_path: Path) -> None:
    output = tmp_path / "dashboards"
    result = _devstack("dashboards", "--output", str(output), state=tmp_path / "state")
    assert result.returncode == 0, result.stderr
    files = sorted(path.name for path in output.glob("*.json"))
    assert {"overview.json", "operator.json", "service-catalog.json"} <= set(files)
    assert f"wrote {len(files)} Grafana dashboards of store devstack" in result.stdout
    overview = json.loads((output / "overview.json").read_text())
    current = {v["name"]: v.get("current", {}).get("value") for v in overview["templating"]["list"]}
    assert current["namespace"] == "default" and current["store"] == "devstack"
