"""Apache Cassandra 5.0 from Maven Central: a single node, and a 3-node cluster on request.

No tarball is downloaded: cassandra-all and its runtime dependencies come from
Maven Central (checksums verified by Maven) into one shared `lib` directory, and
the daemon is started directly with the JVM flags Cassandra's own scripts would
use (conf/jvm-server.options, conf/jvm17-server.options, cassandra-env.sh), a
generated cassandra.yaml and a logback.xml that logs to stdout (the framework's
log file).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

from devstack import artifacts, cassandra_auth, jmx_exporter, toolchains
from devstack.cassandra_auth import Credentials
from devstack.component import Component
from devstack.errors import DevstackError
from devstack.files import write_atomic
from devstack.paths import Paths
from devstack.process import Endpoint, ProcessSpec

# Newest 5.0.x on Maven Central (checked with mvn); 5.0 is the current stable
# series and the one with SAI and Java 17 support.
CASSANDRA_VERSION = "5.0.9"
CASSANDRA_COORDINATE = f"org.apache.cassandra:cassandra-all:{CASSANDRA_VERSION}"
# The flags below are Cassandra 5.0's Java 17 set; 5.0 does not support newer JDKs.
JAVA_MAJOR = 17

LOCAL_DC = "datacenter1"  # SimpleSnitch puts every node in datacenter1/rack1

# Single node: Cassandra's standard ports.
HOST = "127.0.0.1"
CQL_PORT = 9042
STORAGE_PORT = 7000
JMX_PORT = 7199

# Cluster: one loopback address per node (Linux routes all of 127/8 to lo) and
# ports that do not collide with the single node, so both can run at once.
CLUSTER_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
CLUSTER_CQL_PORT = 19042
CLUSTER_STORAGE_PORT = 17000
# JMX binds to the loopback address (127.0.0.1) only, so each node needs its own port.
CLUSTER_JMX_PORTS = (17199, 17299, 17399)

JAVA_HINT = (
    f"install Java {JAVA_MAJOR} (`make setup` does it: devstack/scripts/install-system-packages.sh)"
    f" or point JAVA_HOME at a Java {JAVA_MAJOR} installation"
)

# conf/jvm17-server.options (5.0): module access Cassandra needs on Java 17.
_JPMS_FLAGS = (
    "-Djdk.attach.allowAttachSelf=true",
    *(
        f"--add-exports={module}=ALL-UNNAMED"
        for module in (
            "java.base/jdk.internal.misc",
            "java.management.rmi/com.sun.jmx.remote.internal.rmi",
            "java.rmi/sun.rmi.registry",
            "java.rmi/sun.rmi.server",
            "java.sql/java.sql",
            "java.base/java.lang.ref",
            "jdk.unsupported/sun.misc",
            "jdk.compiler/com.sun.tools.javac.file",
            "jdk.attach/sun.tools.attach",
        )
    ),
    *(
        f"--add-opens={module}=ALL-UNNAMED"
        for module in (
            "java.base/java.lang.module",
            "java.base/jdk.internal.loader",
            "java.base/jdk.internal.ref",
            "java.base/jdk.internal.reflect",
            "java.base/jdk.internal.math",
            "java.base/jdk.internal.module",
            "java.base/jdk.internal.util.jar",
            "jdk.management/com.sun.management.internal",
            "java.base/sun.nio.ch",
            "java.base/java.io",
            "java.base/java.lang.reflect",
            "jdk.compiler/com.sun.tools.javac",
            "java.base/java.lang",
            "java.base/java.util",
            "java.base/java.nio",
        )
    ),
)

# conf/jvm17-server.options G1 settings, without G1HeapRegionSize=16m: that suits
# multi-GB heaps; on a 1 GB heap the JVM's own choice keeps enough regions.
_GC_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
)

# A dev node's schema changes are not flushed to disk one by one: like every other
# write they stay in the memtable and the commit log, which a restart replays. The
# suite makes and drops hundreds of keyspaces; bench/cassandra_schema.py measures it.
UNFLUSHED_SCHEMA = "-Dcassandra.test.flush_local_schema_changes=false"

# conf/jvm-server.options and jvm17-server.options general flags. Left out on
# purpose: -XX:+AlwaysPreTouch (would make the whole heap resident at start-up,
# slow and against the dev box memory budget), -XX:+UseNUMA, heap dumps (a
# dev box should not fill its disk with them; the JVM exits on OOM instead).
_GENERAL_FLAGS = (
    "-ea",
    "-da:net.openhft...",
    "-XX:+UseThreadPriorities",
    "-Xss256k",
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+PerfDisableSharedMem",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.net.preferIPv4Stack=true",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
)

_LOGBACK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by devstack: everything goes to stdout, which devstack writes to the log file. -->
<configuration scan="false">
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.datastax.driver" level="WARN"/>
  <root level="INFO">
    <appender-ref ref="STDOUT"/>
  </root>
</configuration>
"""


# --- shared provisioning and launch ---------------------------------------------


def cassandra_lib_dir(paths: Paths) -> Path:
    """Where cassandra-all and its runtime dependencies are provisioned."""
    return paths.artifacts / f"cassandra-{CASSANDRA_VERSION}" / "lib"


def provision_cassandra(component: Component) -> bool:
    """Provision the Cassandra jars shared by the single node and the cluster."""
    java_binary(component.name)
    dest = cassandra_lib_dir(component.paths).parent
    work_dir = component.paths.builds / f"cassandra-{CASSANDRA_VERSION}"

    def build(tmp: Path) -> None:
        toolchains.maven_copy_dependencies(
            component.name,
            [CASSANDRA_COORDINATE],
            tmp / "lib",
            work_dir=work_dir,
            log_file=component.provision_log,
        )
        if not list((tmp / "lib").glob("cassandra-all-*.jar")):
            raise DevstackError(
                component.name,
                f"Maven did not deliver {CASSANDRA_COORDINATE}",
                log_file=component.provision_log,
                hint=toolchains.JAVA_HINT,
            )

    return artifacts.ensure(
        component.name,
        dest,
        f"maven:{CASSANDRA_COORDINATE}:runtime",
        build,
        verify_hashes=component.ctx.verify,
    )


def java_binary(component: str) -> str:
    """The java to run Cassandra with (JAVA_HOME first), checked to be Java 17."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = _java_for_argv()
    if java_home and not Path(candidate).is_file():
        raise DevstackError(
            component, f"JAVA_HOME={java_home} has no bin/java (Cassandra needs it)", hint=JAVA_HINT
        )
    if not java_home and shutil.which("java") is None:
        raise DevstackError(component, "java is not installed (Cassandra needs it)", hint=JAVA_HINT)
    major = _java_major(component, candidate)
    if major != JAVA_MAJOR:
        raise DevstackError(
            component,
            f"{candidate} is Java {major}; Cassandra {CASSANDRA_VERSION} is run on "
            f"Java {JAVA_MAJOR} here",
            hint=JAVA_HINT,
        )
    return candidate


@functools.cache
def _java_major(component: str, java: str) -> int:
    try:
        out = subprocess.run(
            [java, "-XshowSettings:properties", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DevstackError(component, f"cannot run {java}: {exc}", hint=JAVA_HINT) from exc
    found = re.search(r"java\.specification\.version = (\d+)", out.stderr + out.stdout)
    if found is None:
        raise DevstackError(component, f"cannot tell the version of {java}", hint=JAVA_HINT)
    return int(found.group(1))


def _java_for_argv() -> str:
    """java for argv lists: never raises, so status/down work without Java."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java") or "java"


def _node_spec(
    name: str,
    *,
    lib_dir: Path,
    node_dir: Path,
    heap: tuple[str, str],
    jmx_port: int,
    extra: Sequence[str] = (),
) -> ProcessSpec:
    conf = node_dir / "conf"
    argv = [
        _java_for_argv(),
        f"-Xms{heap[0]}",
        f"-Xmx{heap[1]}",
        *_GENERAL_FLAGS,
        *_GC_FLAGS,
        *_JPMS_FLAGS,
        # jamm measures object sizes for memtable accounting (cassandra-env.sh
        # loads it as an agent); without it jamm falls back to slower guesses.
        *[f"-javaagent:{jar}" for jar in sorted(lib_dir.glob("jamm-*.jar"))[:1]],
        # cassandra-env.sh's LOCAL_JMX=yes: JMX (nodetool) on the loopback
        # address only, no authentication; RMI on the same port so no random
        # port is opened.
        f"-Dcassandra.jmx.local.port={jmx_port}",
        f"-Dcom.sun.management.jmxremote.rmi.port={jmx_port}",
        "-Dcom.sun.management.jmxremote.authenticate=false",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.config={(conf / 'cassandra.yaml').as_uri()}",
        f"-Dlogback.configurationFile={conf / 'logback.xml'}",
        f"-Dcassandra.storagedir={node_dir / 'data'}",
        f"-Dcassandra.logdir={node_dir / 'logs'}",
        f"-Dcassandra.triggers_dir={node_dir / 'triggers'}",
        # A dev node has nothing to wait for: skip the gossip settle loop.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        *extra,
        "-cp",
        f"{lib_dir}{os.sep}*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    # cassandra-env.sh caps glibc malloc arenas: less native memory per thread.
    return ProcessSpec(name=name, argv=argv, env={"MALLOC_ARENA_MAX": "4"}, cwd=node_dir)


def _write_node_config(
    node_dir: Path,
    *,
    cluster_name: str,
    address: str,
    seeds: str,
    cql_port: int,
    storage_port: int,
    authentication: bool,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write cassandra.yaml and logback.xml and create the node's directories."""
    data = node_dir / "data"
    settings: dict[str, Any] = {
        "cluster_name": cluster_name,
        # Random tokens: the token allocator (allocate_tokens_for_*) first waits
        # up to 30 s for schema from peers, on every fresh node; balance does
        # not matter for a dev cluster where RF=3 puts every row on every node.
        "num_tokens": 16,
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        "seed_provider": [
            {
                "class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                "parameters": [{"seeds": seeds}],
            }
        ],
        "listen_address": address,
        "rpc_address": address,
        "storage_port": storage_port,
        "native_transport_port": cql_port,
        "start_native_transport": True,
        "endpoint_snitch": "SimpleSnitch",
        "commitlog_sync": "periodic",
        "commitlog_sync_period": "10000ms",
        "data_file_directories": [str(data / "data")],
        "commitlog_directory": str(data / "commitlog"),
        "saved_caches_directory": str(data / "saved_caches"),
        "hints_directory": str(data / "hints"),
        "cdc_raw_directory": str(data / "cdc_raw"),
        # Passwords and grants as in production, so a service that reaches past its
        # own keyspace fails here too (devstack/src/devstack/cassandra_auth.py).
        "authenticator": "PasswordAuthenticator" if authentication else "AllowAllAuthenticator",
        "authorizer": "CassandraAuthorizer" if authentication else "AllowAllAuthorizer",
        "role_manager": "CassandraRoleManager",
        # Storage-attached indexes are 5.0's secondary indexes; make them the default.
        "default_secondary_index": "sai",
        "default_secondary_index_enabled": True,
        # Tests create and drop many keyspaces: snapshotting every drop only
        # fills the disk of a dev box.
        "auto_snapshot": False,
        # Keep the off-heap chunk cache small: the dev box runs many servers.
        "file_cache_size": "64MiB",
        # Paxos v2 (CEP-14): LWTs in two round trips instead of four, SERIAL reads in
        # one; inventory's reservations are all LWTs. Read at runtime from
        # system_views.settings (name 'paxos_variant'); a running node applies a
        # change of this file only when restarted.
        "paxos_variant": "v2",
        **(extra or {}),
    }
    conf = node_dir / "conf"
    for directory in (conf, data, node_dir / "logs", node_dir / "triggers"):
        directory.mkdir(parents=True, exist_ok=True)
    _write_if_changed(conf / "cassandra.yaml", yaml.safe_dump(settings, sort_keys=False))
    _write_if_changed(conf / "logback.xml", _LOGBACK_XML)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        write_atomic(path, text)


_ALL_REPLICAS_UP_PROBE = SimpleStatement(
    "SELECT keyspace_name FROM system_distributed.view_build_status LIMIT 1",
    consistency_level=ConsistencyLevel.ALL,
)


# --- components -------------------------------------------------------------------


class Cassandra(Component):
    name = "cassandra"
    description = "Apache Cassandra 5.0, single node on 127.0.0.1:9042"
    default = True
    requires = ()
    # The JVM and Cassandra's start-up (schema, system keyspaces) on 2 shared cores:
    # about 40 s from empty data, but a devstack that has run the test suite for days
    # holds thousands of keyspace directories, and a restart of it took 179 s (once
    # over 180 s, which failed a whole test run): the limit leaves room for that.
    ready_timeout = 420.0
    # SIGTERM drains the node (flushes every memtable; about 4 s idle): its schema
    # changes reach disk only then (UNFLUSHED_SCHEMA), so it gets time for that
    # on a busy machine rather than a SIGKILL.
    stop_timeout = 180.0
    start_hint = (
        f"check that ports {CQL_PORT}, {STORAGE_PORT} and {JMX_PORT} are free and Java "
        f"{JAVA_MAJOR} is installed; `devstack down --purge cassandra` starts from empty data"
    )

    @property
    def contact_points(self) -> list[str]:
        return [HOST]

    @property
    def port(self) -> int:
        return CQL_PORT

    @property
    def local_dc(self) -> str:
        return LOCAL_DC

    def provision(self) -> bool:
        fetched = jmx_exporter.provision(self)
        return provision_cassandra(self) or fetched

    def endpoints(self) -> dict[str, Endpoint]:
        return {
            "cql": Endpoint(HOST, CQL_PORT),
            "storage": Endpoint(HOST, STORAGE_PORT),
            "jmx": Endpoint(HOST, JMX_PORT),
            "metrics": Endpoint(HOST, jmx_exporter.CASSANDRA_PORT),
        }

    def prepare(self) -> None:
        _write_node_config(
            self.state_dir,
            cluster_name="devstack",
            address=HOST,
            seeds=f"{HOST}:{STORAGE_PORT}",
            cql_port=CQL_PORT,
            storage_port=STORAGE_PORT,
            authentication=True,
        )
        cassandra_auth.superuser(self.paths)  # its 0600 file, before anyone needs it
        jmx_exporter.write_config(self, jmx_exporter.CASSANDRA_CONFIG)

    def processes(self) -> list[ProcessSpec]:
        return [
            _node_spec(
                self.name,
                lib_dir=cassandra_lib_dir(self.paths),
                node_dir=self.state_dir,
                heap=("512m", "1g"),
                jmx_port=JMX_PORT,
                extra=(
                    UNFLUSHED_SCHEMA,
                    # The default superuser, which after_ready replaces, at once
                    # rather than 10 s after start-up.
                    "-Dcassandra.superuser_setup_delay_ms=0",
                    # /metrics for devstack's Prometheus (the cluster's nodes have none).
                    jmx_exporter.agent_flag(self, jmx_exporter.CASSANDRA_PORT),
                ),
            )
        ]

    @property
    def credentials(self) -> Credentials:
        """devstack's superuser: for devstack itself and tests' throw-away keyspaces."""
        return cassandra_auth.superuser(self.paths)

    @property
    def username(self) -> str | None:
        return self.credentials.username

    @property
    def password(self) -> str | None:
        return self.credentials.password

    def ready(self) -> bool:
        # Before after_ready, only Cassandra's default superuser gets in.
        credentials = cassandra_auth.login(self.paths, HOST, CQL_PORT)
        with cassandra_auth.session(HOST, CQL_PORT, credentials, timeout=5) as session:
            row = session.execute("SELECT release_version FROM system.local").one()
            return row is not None and bool(row.release_version)

    def after_ready(self) -> None:
        cassandra_auth.set_up_superuser(self.paths, HOST, CQL_PORT)

    def env(self) -> dict[str, str]:
        return {
            "CASSANDRA_CONTACT_POINTS": ",".join(self.contact_points),
            "CASSANDRA_PORT": str(self.port),
            "CASSANDRA_LOCAL_DC": LOCAL_DC,
            # The superuser, for a shell's cqlsh and `python -m productstore_common.cassandra`
            # (the services read only their prefixed names, set to their own roles).
            "CASSANDRA_USERNAME": self.credentials.username,
            "CASSANDRA_PASSWORD": self.credentials.password,
        }


class CassandraCluster(Component):
    name = "cassandra-cluster"
    description = "Apache Cassandra 5.0, three nodes on 127.0.0.1/.2/.3 (on request)"
    default = False
    # Three JVMs starting at once on 2 shared cores, then gossip between them.
    ready_timeout = 300.0
    stop_timeout = Cassandra.stop_timeout
    start_hint = (
        f"check that ports {CLUSTER_CQL_PORT}/{CLUSTER_STORAGE_PORT} on 127.0.0.1-3 and "
        f"{', '.join(map(str, CLUSTER_JMX_PORTS))} are free; each node logs to "
        "logs/cassandra-cluster-N.log; `devstack down --purge cassandra-cluster` starts empty"
    )

    @property
    def contact_points(self) -> list[str]:
        return list(CLUSTER_HOSTS)

    @property
    def port(self) -> int:
        return CLUSTER_CQL_PORT

    @property
    def local_dc(self) -> str:
        return LOCAL_DC

    @property
    def log_file(self) -> Path:
        # The seed node's log: start-up failures usually show there first.
        return self.log_file_for(self._node_name(1))

    def _node_name(self, number: int) -> str:
        return f"{self.name}-{number}"

    def _node_dir(self, number: int) -> Path:
        return self.state_dir / f"node{number}"

    def provision(self) -> bool:
        return provision_cassandra(self)

    def endpoints(self) -> dict[str, Endpoint]:
        endpoints = {}
        for number, (host, jmx) in enumerate(zip(CLUSTER_HOSTS, CLUSTER_JMX_PORTS, strict=True), 1):
            endpoints[f"cql-{number}"] = Endpoint(host, CLUSTER_CQL_PORT)
            endpoints[f"storage-{number}"] = Endpoint(host, CLUSTER_STORAGE_PORT)
            endpoints[f"jmx-{number}"] = Endpoint(HOST, jmx)
        return endpoints

    def prepare(self) -> None:
        for number, host in enumerate(CLUSTER_HOSTS, 1):
            _write_node_config(
                self._node_dir(number),
                cluster_name="devstack-cluster",
                address=host,
                seeds=f"{CLUSTER_HOSTS[0]}:{CLUSTER_STORAGE_PORT}",
                cql_port=CLUSTER_CQL_PORT,
                storage_port=CLUSTER_STORAGE_PORT,
                # Fault tests of replication and the migration lock; roles and
                # grants are the single node's tests.
                authentication=False,
                # A brand-new, empty cluster has no data to stream: nodes take
                # their tokens and join at once instead of bootstrapping one at
                # a time (which refuses while other nodes bootstrap).
                extra={"auto_bootstrap": False},
            )

    def processes(self) -> list[ProcessSpec]:
        lib_dir = cassandra_lib_dir(self.paths)
        return [
            _node_spec(
                self._node_name(number),
                lib_dir=lib_dir,
                node_dir=self._node_dir(number),
                heap=("256m", "512m"),
                jmx_port=jmx,
                # Nodes 2 and 3 start together with the seed and must hear from
                # it within their first gossip round (2 x ring delay, 60 s by
                # default) or they give up; three JVMs starting on two shared
                # cores can take longer than that.
                extra=(UNFLUSHED_SCHEMA,)
                if number == 1
                else (UNFLUSHED_SCHEMA, "-Dcassandra.ring_delay_ms=90000"),
            )
            for number, jmx in enumerate(CLUSTER_JMX_PORTS, 1)
        ]

    def ready(self) -> bool:
        """Each node answers CQL, knows the other two, agrees on schema and sees them up."""
        for address in CLUSTER_HOSTS:
            with cassandra_auth.session(address, CLUSTER_CQL_PORT, None, timeout=5) as session:
                local = session.execute("SELECT schema_version FROM system.local").one()
                peers = session.execute("SELECT peer, schema_version FROM system.peers").all()
                if len(peers) != len(CLUSTER_HOSTS) - 1:
                    return False
                if {peer.schema_version for peer in peers} != {local.schema_version}:
                    return False
                # system_distributed is replicated to 3 nodes: a read at ALL
                # succeeds only if this node's failure detector has all 3 up.
                session.execute(_ALL_REPLICAS_UP_PROBE)
        return True

    # No authentication on the cluster: anyone logs in.
    username: str | None = None
    password: str | None = None

    def env(self) -> dict[str, str]:
        return {
            "CASSANDRA_CLUSTER_CONTACT_POINTS": ",".join(self.contact_points),
            "CASSANDRA_CLUSTER_PORT": str(self.port),
        }
