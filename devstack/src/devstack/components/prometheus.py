"""Prometheus and promtool from Debian's prometheus package, on 127.0.0.1:9090.

The generated prometheus.yml sends alerts to devstack's Alertmanager, scrapes
Prometheus itself, Jaeger's own metrics and the JMX exporters in Cassandra and
Kafka, and takes further targets from JSON files in ``targets/`` (file_sd): a service
registers itself by dropping ``<name>.json`` there, picked up without a
restart. Rule files go in ``rules/`` (then ``Prometheus.reload()``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from devstack import jmx_exporter
from devstack.component import Component
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec

HOST = "127.0.0.1"
PORT = 9090
# Jaeger v2 serves its own collector metrics here (see jaeger.py).
JAEGER_METRICS = f"{HOST}:8888"
# The JMX exporter agents in Cassandra and Kafka.
CASSANDRA_METRICS = f"{jmx_exporter.HOST}:{jmx_exporter.CASSANDRA_PORT}"
KAFKA_METRICS = f"{jmx_exporter.HOST}:{jmx_exporter.KAFKA_PORT}"
# Where alerts go: alertmanager.py's address (components do not import each other).
ALERTMANAGER = f"{HOST}:9094"
# Short intervals so a fresh stack has data within seconds; it is a dev box.
SCRAPE_INTERVAL = "5s"
# Local data is throwaway: keep a few hours, bounded in size.
RETENTION_TIME = "6h"
RETENTION_SIZE = "512MB"


class Prometheus(Component):
    name = "prometheus"
    description = "Prometheus and promtool (Debian) on 127.0.0.1:9090"
    default = True
    requires = ()
    ready_timeout = 30.0
    start_hint = "run `make setup` to install prometheus; check that port 9090 is free"

    # --- typed accessors -------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{HOST}:{PORT}"

    @property
    def binary(self) -> Path:
        return self._tool("prometheus")

    @property
    def promtool(self) -> Path:
        return self._tool("promtool")

    @property
    def config_file(self) -> Path:
        return self.state_dir / "prometheus.yml"

    @property
    def targets_dir(self) -> Path:
        """Drop ``<service>.json`` file_sd target lists here to get scraped."""
        return self.state_dir / "targets"

    @property
    def rules_dir(self) -> Path:
        """Drop ``*.yml`` rule files here (then POST /-/reload)."""
        return self.state_dir / "rules"

    def _tool(self, tool: str) -> Path:
        return self.system_binary(tool, "prometheus")

    # --- hooks -------------------------------------------------------------
    def provision(self) -> bool:
        self._tool("prometheus")
        self._tool("promtool")
        return False

    def endpoints(self) -> dict[str, Endpoint]:
        return {"http": Endpoint(HOST, PORT)}

    def config(self) -> dict[str, object]:
        """The prometheus.yml content; scrape_configs is where services plug in."""
        return {
            "global": {
                "scrape_interval": SCRAPE_INTERVAL,
                "evaluation_interval": SCRAPE_INTERVAL,
                "external_labels": {"env": "devstack"},
            },
            "rule_files": [str(self.rules_dir / "*.yml")],
            # Sent while Alertmanager is down are lost; Prometheus resends firing ones.
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
            "scrape_configs": [
                {"job_name": "prometheus", "static_configs": [{"targets": [f"{HOST}:{PORT}"]}]},
                {"job_name": "jaeger", "static_configs": [{"targets": [JAEGER_METRICS]}]},
                {"job_name": "cassandra", "static_configs": [{"targets": [CASSANDRA_METRICS]}]},
                {"job_name": "kafka", "static_configs": [{"targets": [KAFKA_METRICS]}]},
                {
                    # One JSON file per service: [{"targets": [...], "labels": {"job": ...}}].
                    "job_name": "services",
                    "file_sd_configs": [
                        {"files": [str(self.targets_dir / "*.json")], "refresh_interval": "5s"}
                    ],
                },
            ],
        }

    def prepare(self) -> None:
        for directory in (self.state_dir / "data", self.targets_dir, self.rules_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.write_generated_yaml(self.config_file, self.config())

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    str(self.binary),
                    f"--config.file={self.config_file}",
                    f"--storage.tsdb.path={self.state_dir / 'data'}",
                    f"--storage.tsdb.retention.time={RETENTION_TIME}",
                    f"--storage.tsdb.retention.size={RETENTION_SIZE}",
                    f"--web.listen-address={HOST}:{PORT}",
                    f"--web.external-url={self.url}/",
                    # Lets tooling reload rules/config without a restart.
                    "--web.enable-lifecycle",
                    "--log.level=info",
                ],
                cwd=self.state_dir,
            )
        ]

    def reload(self) -> None:
        """Re-read prometheus.yml and the rule files (file_sd targets need no reload)."""
        response = httpx.post(f"{self.url}/-/reload", timeout=10.0)
        if response.status_code != 200:
            raise DevstackError(
                self.name,
                f"reload failed ({response.status_code}): {response.text.strip()}",
                log_file=self.log_file,
                hint=f"check the rule files in {self.rules_dir} with `promtool check rules`",
            )

    def ready(self) -> bool:
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            if client.get("/-/ready").status_code != 200:
                return False
            response = client.get("/api/v1/query", params={"query": "up"})
            return response.status_code == 200 and response.json().get("status") == "success"

    def env(self) -> dict[str, str]:
        env = {"PROMETHEUS_URL": self.url}
        promtool = shutil.which("promtool")
        if promtool is not None:
            env["PROMTOOL"] = promtool
        return env
