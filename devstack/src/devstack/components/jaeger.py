"""Jaeger v2 all-in-one, built from its Go module, with in-memory storage.

Jaeger v2 is an OpenTelemetry Collector distribution: one binary, configured
by a collector YAML file that devstack generates. Everything listens on
127.0.0.1: OTLP gRPC 4317 and HTTP 4318, the query API/UI 16686 (gRPC 16685),
the health check 13133 and its own Prometheus metrics 8888.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from devstack import artifacts, toolchains
from devstack.component import Component
from devstack.process import Endpoint, ProcessSpec

# The module's v1.x tags carry the Jaeger v2 binary (cmd/jaeger); v1.76.0 is the
# newest one our Go proxy serves (built on OTel Collector v0.140).
JAEGER_VERSION = "1.76.0"
JAEGER_PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger"
LDFLAGS = "-s -w"

HOST = "127.0.0.1"
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
QUERY_HTTP_PORT = 16686
QUERY_GRPC_PORT = 16685
HEALTH_PORT = 13133
METRICS_PORT = 8888
# In-memory storage: bounded so a long-running dev stack does not grow forever.
MAX_TRACES = 50_000


class Jaeger(Component):
    name = "jaeger"
    description = "Jaeger v2: OTLP on 127.0.0.1:4317/4318, UI/API on 127.0.0.1:16686"
    default = True
    requires = ()
    ready_timeout = 30.0
    start_hint = (
        "run `devstack provision jaeger` (builds the binary with Go); "
        "check that ports 4317, 4318, 16685, 16686, 13133 and 8888 are free"
    )

    # --- typed accessors -------------------------------------------------
    @property
    def artifact_dir(self) -> Path:
        return self.paths.artifacts / f"jaeger-{JAEGER_VERSION}"

    @property
    def binary(self) -> Path:
        return self.artifact_dir / "jaeger"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "config.yaml"

    @property
    def otlp_http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP exporters (they append /v1/traces)."""
        return f"http://{HOST}:{OTLP_HTTP_PORT}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://{HOST}:{OTLP_GRPC_PORT}"

    @property
    def query_url(self) -> str:
        return f"http://{HOST}:{QUERY_HTTP_PORT}"

    @property
    def health_url(self) -> str:
        return f"http://{HOST}:{HEALTH_PORT}/status"

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{METRICS_PORT}/metrics"

    # --- provisioning ------------------------------------------------------
    def provision(self) -> bool:
        fingerprint = f"jaeger {JAEGER_PACKAGE}@v{JAEGER_VERSION} go build -trimpath {LDFLAGS}"
        return artifacts.ensure(self.name, self.artifact_dir, fingerprint, self._build)

    def _build(self, out_dir: Path) -> None:
        # A tool module pins jaeger and all its dependencies in go.mod/go.sum;
        # kept in the cache so a rebuild reuses Go's module and build caches.
        module = self.paths.builds / f"jaeger-{JAEGER_VERSION}"
        module.mkdir(parents=True, exist_ok=True)
        if not (module / "go.mod").exists():
            artifacts.run(
                self.name,
                ["go", "mod", "init", "local.productstore.devstack/jaeger"],
                cwd=module,
                env=toolchains.go_env(),
                log_file=self.provision_log,
                hint=toolchains.GO_HINT,
            )
        artifacts.run(
            self.name,
            ["go", "get", "-tool", f"{JAEGER_PACKAGE}@v{JAEGER_VERSION}"],
            cwd=module,
            env=toolchains.go_env(),
            log_file=self.provision_log,
            hint=toolchains.GO_HINT,
        )
        toolchains.go_build(
            self.name,
            module,
            [JAEGER_PACKAGE],
            out_dir,
            log_file=self.provision_log,
            ldflags=LDFLAGS,
        )

    # --- running -------------------------------------------------------------
    def endpoints(self) -> dict[str, Endpoint]:
        return {
            "otlp-grpc": Endpoint(HOST, OTLP_GRPC_PORT),
            "otlp-http": Endpoint(HOST, OTLP_HTTP_PORT),
            "query": Endpoint(HOST, QUERY_HTTP_PORT),
            "query-grpc": Endpoint(HOST, QUERY_GRPC_PORT),
            "health": Endpoint(HOST, HEALTH_PORT),
            "metrics": Endpoint(HOST, METRICS_PORT),
        }

    def config(self) -> dict[str, object]:
        """The collector configuration (the all-in-one layout, bound to 127.0.0.1)."""
        return {
            "service": {
                "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
                "pipelines": {
                    "traces": {
                        "receivers": ["otlp"],
                        "processors": ["batch"],
                        "exporters": ["jaeger_storage_exporter"],
                    }
                },
                "telemetry": {
                    "resource": {"service.name": "jaeger"},
                    "metrics": {
                        "level": "detailed",
                        "readers": [
                            {
                                "pull": {
                                    "exporter": {"prometheus": {"host": HOST, "port": METRICS_PORT}}
                                }
                            }
                        ],
                    },
                    "logs": {"level": "info"},
                },
            },
            "extensions": {
                "jaeger_storage": {
                    "backends": {"memstore": {"memory": {"max_traces": MAX_TRACES}}}
                },
                "jaeger_query": {
                    "storage": {"traces": "memstore"},
                    # Self-tracing would export to OTEL_* of the environment and
                    # fill the store with Jaeger's own query spans.
                    "enable_tracing": False,
                    "http": {"endpoint": f"{HOST}:{QUERY_HTTP_PORT}"},
                    "grpc": {"endpoint": f"{HOST}:{QUERY_GRPC_PORT}"},
                },
                # No grpc key: only the HTTP health endpoint is served.
                "healthcheckv2": {
                    "use_v2": True,
                    "http": {"endpoint": f"{HOST}:{HEALTH_PORT}", "status": {"path": "/status"}},
                },
            },
            "receivers": {
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"{HOST}:{OTLP_GRPC_PORT}"},
                        "http": {"endpoint": f"{HOST}:{OTLP_HTTP_PORT}"},
                    }
                }
            },
            "processors": {"batch": {}},
            "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
        }

    def prepare(self) -> None:
        self.write_generated_yaml(self.config_file, self.config())

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                name=self.name,
                argv=[str(self.binary), f"--config={self.config_file}"],
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        with httpx.Client(timeout=2.0) as client:
            if client.get(self.health_url).status_code != 200:
                return False
            response = client.get(f"{self.query_url}/api/services")
            return response.status_code == 200 and "data" in response.json()

    def env(self) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "JAEGER_QUERY_URL": self.query_url,
        }
