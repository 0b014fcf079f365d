"""devstack's Prometheus rules for the sample store: the operator's, loaded and evaluated.

The shared Prometheus is never restarted or reloaded here: the test writes the
rule file with devstack's own code (``write_sample_rules``), starts a private
Prometheus on a free port with it, scrapes the running devstack services with
the labels devstack's targets give them (``sample_store.scrape_labels``), and
reads its rules API: every group loaded and healthy, and the SLO recordings
evaluated from the services' real metrics after some real traffic.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack import sample_store
from devstack.components import operator as operator_component
from devstack.components import prometheus as prometheus_component
from devstack.components.prometheus import Prometheus
from devstack.components.services import CatalogService
from devstack.pytest_plugin import DevstackSession
from productstore_operator.builders.rules import ALERT_NAMES
from tests.operator.spec_cases import load_sample

SERVICES = ("auth", "catalog", "inventory")
WAIT_SECONDS = 60.0


def test_sample_store_constants_match_the_manifest() -> None:
    manifest = yaml.safe_load(sample_store.MANIFEST.read_text())
    assert manifest == load_sample("productstore-devstack")
    assert manifest["metadata"]["name"] == sample_store.NAME
    # operator.py cannot import prometheus.py (independent components): the copy must agree.
    prometheus_url = f"http://{prometheus_component.HOST}:{prometheus_component.PORT}"
    assert prometheus_url == operator_component.PROMETHEUS_URL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _targets(prometheus: Prometheus) -> list[dict[str, Any]]:
    """The devstack services' scrape targets, labelled as devstack now labels them."""
    found = []
    for service in SERVICES:
        entries = json.loads((prometheus.targets_dir / f"{service}.json").read_text())
        for entry in entries:
            found.append(
                {
                    "targets": entry["targets"],
                    "labels": {**sample_store.scrape_labels(), "service": service},
                }
            )
    return found


@pytest.fixture
def private_prometheus(
    prometheus: Prometheus, devstack: DevstackSession, tmp_path: Path
) -> Iterator[str]:
    # The services first: their scrape target files must exist when they are read (in
    # a test session, nothing else may have started inventory yet).
    devstack.require(*SERVICES)
    rules = tmp_path / "rules" / sample_store.RULE_FILE
    operator_component.write_sample_rules(rules)
    check = subprocess.run(
        [str(prometheus.promtool), "check", "rules", str(rules)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "services", "static_configs": _targets(prometheus)}],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            str(prometheus.binary),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _get(url: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{url}{path}", params=params, timeout=5.0)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def _wait_for(what: str, probe: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(1.0)
    pytest.fail(f"{what} within {WAIT_SECONDS:.0f}s; last: {last!r}")


def test_private_prometheus_loads_and_evaluates_the_sample_store_rules(
    private_prometheus: str, catalog_service: CatalogService
) -> None:
    # The fixture starts the catalog if this test is the session's first to need it.
    url, catalog_url = private_prometheus, catalog_service.url

    def loaded() -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = _get(url, "/api/v1/rules")["groups"]
        return groups

    groups = _wait_for("the rule groups loaded", loaded)
    names = {g["name"] for g in groups}
    for service in SERVICES:
        for slo in ("availability", "latency"):
            for part in ("sli", "meta", "alerts"):
                assert f"slo-{service}-{slo}-{part}" in names
    assert "symptoms" in names
    alerts = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert alerts == set(ALERT_NAMES)

    # The latency SLI counts the requests answered within 0.2 s: the kit's bucket.
    exported = httpx.get(f"{catalog_url}/metrics", timeout=5.0).text
    assert 'le="0.2"' in exported

    def catalog_sli() -> dict[str, float]:
        # Real reads on the catalog (the seeded products) between every two scrapes: a
        # rate is 0/0, NaN, while the counters stand still, and on a stack the test
        # session started nothing else reads the catalog (the defect of stop 16: all
        # the reads were made before the private Prometheus's first scrape).
        for _ in range(5):
            httpx.get(f"{catalog_url}/api/products", params={"limit": 5}, timeout=5.0)
        result = _get(
            url,
            "/api/v1/query",
            query='slo:sli_error:ratio_rate5m{namespace="default", store="devstack", '
            'service="catalog"}',
        )["result"]
        return {
            s["metric"]["slo"]: float(s["value"][1])
            for s in result
            if not math.isnan(float(s["value"][1]))
        }

    sli = _wait_for(
        "the catalog's SLIs evaluated",
        lambda: found if {"availability", "latency"} <= set(found := catalog_sli()) else {},
    )
    # Reads of a healthy catalog: no 5xx, and (on this machine) well inside 0.2 s.
    assert sli["availability"] == 0.0
    assert 0.0 <= sli["latency"] < 0.5

    def healthy() -> bool:
        rules = [r for g in loaded() for r in g["rules"]]
        evaluated = all(r.get("lastEvaluation", "").startswith("20") for r in rules)
        return evaluated and all(r["health"] == "ok" for r in rules)

    _wait_for("every rule evaluated without error", healthy)
    remaining = _get(
        url,
        "/api/v1/query",
        query='slo:error_budget:ratio{store="devstack", service="catalog", slo="availability"}',
    )["result"]
    assert [float(s["value"][1]) for s in remaining] == [0.001]
