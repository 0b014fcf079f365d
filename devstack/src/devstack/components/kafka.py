"""Apache Kafka 4 in KRaft mode (one combined broker+controller) on 127.0.0.1:9092,
and on 198.51.100.1:9095 for the real node's Pods when node-net has put that address
on this machine before Kafka starts (the PODS listener, node_net.py).

The broker runs from Maven Central jars (kafka_2.13 and its runtime
dependencies) on the machine's Java 17; no Kafka distribution tarball is
needed, since only the package registries are reachable.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # the typed home of NewTopic

from devstack import artifacts, jmx_exporter, toolchains
from devstack.component import Component
from devstack.errors import DevstackError
from devstack.files import write_atomic
from devstack.node_address import KAFKA_PODS_PORT, NODE_IP, has_node_address
from devstack.process import Endpoint, ProcessSpec, port_open

# The newest 4.x bug-fix release on Maven Central (4.4 has only its .0); its
# jars target Java 17 (class file 61) and its core still holds kafka.Kafka and
# kafka.tools.StorageTool.
KAFKA_VERSION = "4.3.1"
SCALA_BINARY = "2.13"
# Kafka logs through SLF4J 1.7 and depends on log4j-core but ships no
# binding in its poms (the distribution adds one): the SLF4J 1.x bridge at
# the log4j2 version kafka-server 4.3.1 itself depends on.
LOG4J_VERSION = "2.25.4"

HOST = "127.0.0.1"
PORT = 9092
CONTROLLER_PORT = 9093
# The listener for the real node's Pods, on the address node-net keeps.
PODS_HOST = NODE_IP
PODS_PORT = KAFKA_PODS_PORT
NODE_ID = 1

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
# Small heap: a dev broker holds little data; G1 as Kafka's own scripts use.
JVM_OPTS = (
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Djava.net.preferIPv4Stack=true",
    # No log4j shutdown hooks: they race Kafka's own hook, which then logs its
    # controlled shutdown through a fallback logger, or not at all.
    "-Dlog4j.shutdownHookEnabled=false",
)
# The storage tool only writes a few files.
TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true")

JAVA_HINT = "install Java 17 or newer (`make setup`), or set JAVA_HOME to one"

# librdkafka logs every refused connection to stderr while the broker starts;
# route it through logging so `devstack up` output stays clean.
_LOG = logging.getLogger("devstack.kafka.client")


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Kafka's own generator re-draws ids starting with '-' (they read as a
    command-line flag); so do we.
    """
    while True:
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not raw.startswith("-"):
            return raw


def _find_java() -> str | None:
    """JAVA_HOME's java if set (e.g. a newer JDK), else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


class Kafka(Component):
    name = "kafka"
    description = f"Apache Kafka {KAFKA_VERSION} in KRaft mode on {HOST}:{PORT}"
    default = True
    # node-net first: Kafka adds its PODS listener (for the real node's Pods) only when
    # node-net's address exists at its start. A test session that starts Kafka on
    # demand, before anything asked for the node, would otherwise run it without one.
    requires = ("node-net",)
    ready_timeout = 90.0
    start_hint = (
        f"check that ports {PORT} and {CONTROLLER_PORT} are free and Java 17+ is installed; "
        "after changing the Kafka version or a broken format: `devstack down kafka --purge`"
    )

    # --- locations -----------------------------------------------------
    @property
    def home(self) -> Path:
        return self.paths.artifacts / f"kafka-{KAFKA_VERSION}"

    @property
    def lib_dir(self) -> Path:
        return self.home / "libs"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.state_dir / "log4j2.xml"

    @property
    def cluster_id_file(self) -> Path:
        return self.state_dir / "cluster-id"

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{PORT}"

    # --- helpers ---------------------------------------------------------
    def _java(self) -> str:
        found = _find_java()
        if found is None:
            raise DevstackError(self.name, "java is not installed", hint=JAVA_HINT)
        return found

    def _classpath(self) -> str:
        # The JVM expands `dir/*` to every jar in dir itself.
        return f"{self.lib_dir}/*"

    def _admin(self) -> AdminClient:
        return AdminClient(
            {"bootstrap.servers": self.bootstrap_servers, "socket.timeout.ms": 5000},
            logger=_LOG,
        )

    # --- hooks -----------------------------------------------------------
    def provision(self) -> bool:
        self._java()
        fetched = jmx_exporter.provision(self)
        coordinates = [
            f"org.apache.kafka:kafka_{SCALA_BINARY}:{KAFKA_VERSION}",
            f"org.apache.logging.log4j:log4j-slf4j-impl:{LOG4J_VERSION}",
        ]
        fingerprint = json.dumps({"maven": coordinates, "layout": 1}, sort_keys=True)

        def build(tmp: Path) -> None:
            toolchains.maven_copy_dependencies(
                self.name,
                coordinates,
                tmp / "libs",
                work_dir=self.paths.builds / "kafka",
                log_file=self.provision_log,
            )
            core = tmp / "libs" / f"kafka_{SCALA_BINARY}-{KAFKA_VERSION}.jar"
            if not core.is_file():
                raise DevstackError(
                    self.name,
                    f"Maven did not deliver {core.name}",
                    log_file=self.provision_log,
                    hint="check that Maven Central is reachable, then `devstack provision kafka`",
                )

        built = artifacts.ensure(
            self.name, self.home, fingerprint, build, verify_hashes=self.ctx.verify
        )
        return built or fetched

    def endpoints(self) -> dict[str, Endpoint]:
        return {
            "kafka": Endpoint(HOST, PORT),
            "controller": Endpoint(HOST, CONTROLLER_PORT),
            "metrics": Endpoint(HOST, jmx_exporter.KAFKA_PORT),
            **({"pods": Endpoint(PODS_HOST, PODS_PORT)} if "PODS" in self.listeners() else {}),
        }

    def _cluster_id(self) -> str:
        """The cluster id, drawn once and kept: the storage is formatted with it."""
        try:
            existing = self.cluster_id_file.read_text().strip()
        except FileNotFoundError:
            existing = ""
        if existing:
            return existing
        cluster_id = _new_cluster_id()
        write_atomic(self.cluster_id_file, cluster_id + "\n")
        return cluster_id

    def listeners(self) -> dict[str, str]:
        """{listener name: host:port}. PODS is for the real node's Pods, which cannot
        reach loopback: Kafka's metadata sends a client to the listener it came in by,
        so each kind of client is told an address it can reach (node_net.py)."""
        listeners = {"PLAINTEXT": f"{HOST}:{PORT}", "CONTROLLER": f"{HOST}:{CONTROLLER_PORT}"}
        if has_node_address():
            listeners["PODS"] = f"{PODS_HOST}:{PODS_PORT}"
        return listeners

    def _server_properties(self) -> str:
        listeners = self.listeners()
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            # A static voter set: the one node is the whole quorum, and the
            # storage format needs no --standalone/--initial-controllers.
            "controller.quorum.voters": f"{NODE_ID}@{HOST}:{CONTROLLER_PORT}",
            "listeners": ",".join(f"{name}://{address}" for name, address in listeners.items()),
            "advertised.listeners": ",".join(
                f"{name}://{listeners[name]}" for name in listeners if name != "CONTROLLER"
            ),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(f"{n}:PLAINTEXT" for n in listeners),
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # Internal topics default to 3 replicas, which one broker can never
            # satisfy: consumer groups, transactions and idempotent producers
            # would then fail. Few partitions: each costs files and start-up work.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Tests join groups constantly; the default 3 s delay only slows them.
            "group.initial.rebalance.delay.ms": "0",
            # Topics are declared explicitly (as in the clusters we deploy to), so
            # a typo in a topic name fails fast instead of creating a stray topic.
            "auto.create.topics.enable": "false",
            "delete.topic.enable": "true",
            # Two cores shared with other servers: fewer threads than the defaults.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
        }
        lines = ["# Written by devstack on every start; edits are overwritten."]
        lines += [f"{key}={value}" for key, value in settings.items()]
        return "\n".join(lines) + "\n"

    def _log4j2_xml(self) -> str:
        # Everything to stdout, which the framework captures in the log file.
        return """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="stdout"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.network.RequestChannel$" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
"""

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = self._cluster_id()
        self.config_file.write_text(self._server_properties())
        self.log4j_config.write_text(self._log4j2_xml())
        jmx_exporter.write_config(self, jmx_exporter.KAFKA_CONFIG)
        # meta.properties is written by the format: its presence means done.
        if (self.data_dir / "meta.properties").exists():
            return
        artifacts.run(
            self.name,
            [
                self._java(),
                "-cp",
                self._classpath(),
                STORAGE_TOOL,
                "format",
                "--cluster-id",
                cluster_id,
                "--config",
                str(self.config_file),
                "--ignore-formatted",
            ],
            # JVM options via the launcher's variable, so that a failure message
            # (which quotes the first words of argv) names the tool.
            env={
                "JDK_JAVA_OPTIONS": " ".join(
                    [*TOOL_JVM_OPTS, f'"-Dlog4j2.configurationFile={self.log4j_config}"']
                )
            },
            log_file=self.log_file,
            hint=(
                "run `devstack provision kafka`; a half-formatted data directory is "
                "cleared by `devstack down kafka --purge`"
            ),
            timeout=120,
        )

    def processes(self) -> list[ProcessSpec]:
        # No DevstackError here: `devstack status` lists processes of
        # components that may not be provisioned yet.
        return [
            ProcessSpec(
                name=self.name,
                argv=[
                    _find_java() or "java",
                    *JVM_OPTS,
                    f"-Dlog4j2.configurationFile={self.log4j_config}",
                    # /metrics for devstack's Prometheus.
                    jmx_exporter.agent_flag(self, jmx_exporter.KAFKA_PORT),
                    "-cp",
                    self._classpath(),
                    MAIN_CLASS,
                    str(self.config_file),
                ],
                cwd=self.state_dir,
            )
        ]

    def ready(self) -> bool:
        """Ready once a topic can be created and deleted again."""
        if not port_open(Endpoint(HOST, PORT)):
            return False
        admin = self._admin()
        topic = f"devstack-ready-{uuid.uuid4().hex[:12]}"
        created = admin.create_topics(
            [NewTopic(topic, num_partitions=1, replication_factor=1)],
            operation_timeout=10,
            request_timeout=10,
        )
        created[topic].result(timeout=15)
        deleted = admin.delete_topics([topic], operation_timeout=10, request_timeout=10)
        deleted[topic].result(timeout=15)
        return True

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers}
