"""The devstack command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _devstack(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRODUCTSTORE_STATE": str(state)}
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
