"""A single Cassandra node of a benchmark's own, so the shared devstack node is never restarted.

devstack's node configuration and launch command (cassandra.yaml with the
benchmark's `extra` settings, JVM flags), on ports 29042/27000/27199 (or the
caller's `Ports`) in a directory the caller owns; stopped (its process group)
when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cassandra.cluster import Cluster

from devstack.components.cassandra import _node_spec, _write_node_config, cassandra_lib_dir
from devstack.paths import Paths

CQL, STORAGE, JMX = 29042, 27000, 27199
START_TIMEOUT = 240.0


@dataclass(frozen=True)
class Ports:
    cql: int = CQL
    storage: int = STORAGE
    jmx: int = JMX


def _wait_for_cql(port: int, deadline: float) -> None:
    while True:
        cluster = Cluster(["127.0.0.1"], port=port)
        try:
            cluster.connect().shutdown()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
        else:
            return
        finally:
            cluster.shutdown()


@contextlib.contextmanager
def private_node(
    name: str,
    node_dir: Path,
    *,
    settings: Mapping[str, Any],
    jvm_flags: Sequence[str] = (),
    ports: Ports = Ports(),
) -> Iterator[float]:
    """Start the node (no authentication) and yield the seconds it took to answer CQL."""
    _write_node_config(
        node_dir,
        cluster_name=name,
        address="127.0.0.1",
        authentication=False,
        seeds=f"127.0.0.1:{ports.storage}",
        cql_port=ports.cql,
        storage_port=ports.storage,
        extra={"auto_bootstrap": False, **settings},
    )
    spec = _node_spec(
        name,
        lib_dir=cassandra_lib_dir(Paths.from_env()),
        node_dir=node_dir,
        heap=("512m", "512m"),
        jmx_port=ports.jmx,
        extra=jvm_flags,
    )
    with (node_dir / "logs" / "stdout.log").open("w") as log:
        process = subprocess.Popen(
            list(spec.argv),
            env={**os.environ, **spec.env},
            cwd=spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            _wait_for_cql(ports.cql, started + START_TIMEOUT)
            yield time.monotonic() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
