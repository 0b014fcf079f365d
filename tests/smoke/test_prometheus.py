"""Prometheus from devstack: promtool validates rules, the server scrapes itself."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.components.prometheus import Prometheus
from devstack.errors import DevstackError

GOOD_RULES = """\
groups:
  - name: smoke
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: TargetDown
        expr: up == 0
        for: 1m
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.job }} target {{ $labels.instance }} is down"
"""

# A recording rule with a PromQL syntax error and an alert without `expr`.
BROKEN_RULES = """\
groups:
  - name: broken
    rules:
      - record: job:up:sum
        expr: sum by (job (up)
      - alert: NoExpr
        for: 1m
"""


def _check_rules(promtool: Path, rule_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), "check", "rules", str(rule_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_promtool_accepts_valid_rules(prometheus: Prometheus, tmp_path: Path) -> None:
    rule_file = tmp_path / "good.yml"
    rule_file.write_text(GOOD_RULES)
    result = _check_rules(prometheus.promtool, rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout + result.stderr


def test_promtool_rejects_broken_rules(prometheus: Prometheus, tmp_path: Path) -> None:
    rule_file = tmp_path / "broken.yml"
    rule_file.write_text(BROKEN_RULES)
    result = _check_rules(prometheus.promtool, rule_file)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "FAILED" in output
    assert "could not parse expression" in output, output
    assert "field 'expr' must be set" in output, output


def test_missing_binaries_point_to_make_setup(
    prometheus: Prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without prometheus/promtool
    with pytest.raises(DevstackError) as excinfo:
        Prometheus(prometheus.ctx).provision()
    assert excinfo.value.hint is not None
    assert "make setup" in excinfo.value.hint


def test_prometheus_scrapes_itself(prometheus: Prometheus) -> None:
    deadline = time.monotonic() + 30  # the first scrape is at most one interval (5s) away
    result: list[dict[str, Any]] = []
    with httpx.Client(base_url=prometheus.url, timeout=5) as client:
        while time.monotonic() < deadline:
            response = client.get("/api/v1/query", params={"query": 'up{job="prometheus"}'})
            response.raise_for_status()
            body = response.json()
            assert body["status"] == "success"
            result = body["data"]["result"]
            if result:
                break
            time.sleep(1)
    assert len(result) == 1, f"no scrape of job=prometheus within 30s: {result}"
    _timestamp, value = result[0]["value"]
    assert value == "1"


def test_rule_file_in_rules_dir_is_loaded_on_reload(prometheus: Prometheus) -> None:
    group = f"smoke_{uuid.uuid4().hex[:12]}"
    rule_file = prometheus.rules_dir / f"{group}.yml"
    rule_file.write_text(GOOD_RULES.replace("name: smoke", f"name: {group}"))
    try:
        prometheus.reload()
        response = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=5)
        response.raise_for_status()
        groups = {g["name"]: g for g in response.json()["data"]["groups"]}
        assert group in groups
        rules = {r["name"]: r for r in groups[group]["rules"]}
        assert rules["job:up:sum"]["type"] == "recording"
        assert rules["TargetDown"]["type"] == "alerting"
        assert rules["TargetDown"]["duration"] == 60
        assert rules["TargetDown"]["labels"] == {"severity": "warning"}
    finally:
        rule_file.unlink()
        prometheus.reload()
