"""The checkout benchmark's own orders and inventory: processes of a given interpreter.

`own_pair(stack, paths, python, tag, settings)` starts inventory and orders as
devstack starts them (`process_spec`: same uvicorn arguments, same shared
settings, plus `settings`) but each on a port, keyspace (and Cassandra role),
Kafka topics and consumer groups of its own, orders calling its own inventory
and devstack's catalog, auth (JWKS) and payment sandbox. `python` picks the
code: `../main/.venv/bin/python` runs that checkout's services, this
checkout's `.venv/bin/python` this one's, so one run can put two versions side
by side on the same machine state. Tracing samples BENCH_TRACE_SAMPLE_RATIO
(0.1, as the chart deploys it; devstack's own services trace every request,
for debugging). Everything is stopped and dropped at the end.

`cpu_seconds(pids)` reads the CPU time of processes and their children, so a run
can say which process spent the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from catalog_data import cleanup as drop_bench_data
from catalog_data import free_port

from devstack import process
from devstack.components.services import UvicornService
from devstack.paths import Paths
from devstack.stack import Stack
from productstore_common.events.kafka import ensure_topics

KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
TRACING = os.environ.get("BENCH_TRACE_SAMPLE_RATIO", "0.1")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Pair:
    """A running orders + inventory of one interpreter."""

    python: str
    orders_url: str
    inventory_url: str
    orders_topic: str
    pid_files: dict[str, Path]

    def pids(self) -> dict[str, int]:
        return {name: _pid(f) for name, f in self.pid_files.items()}


def _pid(pid_file: Path) -> int:
    pid: int = json.loads(pid_file.read_text())["pid"]
    return pid


def _start(paths: Paths, spec: process.ProcessSpec, url: str, cleanup: ExitStack) -> Path:
    pid_file, log_file = paths.pid_file(spec.name), paths.log_file(spec.name)
    process.start(spec, log_file=log_file, pid_file=pid_file, tie_to_parent=True)
    cleanup.callback(log_file.unlink, missing_ok=True)
    cleanup.callback(process.stop, pid_file)
    process.wait_until_ready(
        spec.name,
        lambda: httpx.get(f"{url}/readyz", timeout=5).status_code == 200,
        timeout=180,  # the first start creates the keyspace and its tables
        pid_files=[pid_file],
        log_file=log_file,
        hint="see the log",
    )
    return pid_file


@contextmanager
def own_pair(
    stack: Stack, paths: Paths, python: str, tag: str, settings: dict[str, str] | None = None
) -> Iterator[Pair]:
    """`settings`: more of both services' settings (names without the prefix)."""
    orders, inventory = stack.components["orders"], stack.components["inventory"]
    assert isinstance(orders, UvicornService) and isinstance(inventory, UvicornService)  # noqa: S101 - narrows for mypy
    topic_prefix = f"productstore.bench-{tag}"
    orders_topic, inventory_topic = f"{topic_prefix}-orders", f"{topic_prefix}-inventory"
    keyspaces = {"inventory": f"bench_inv_{tag}", "orders": f"bench_ord_{tag}"}
    ports = {"inventory": free_port(), "orders": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    with ExitStack() as cleanup:
        for name, keyspace in keyspaces.items():
            cleanup.callback(drop_bench_data, keyspace, topic_prefix, f"bench-{tag}")
            stack.components[name].ensure_cassandra_role(keyspace)  # type: ignore[attr-defined]
        shared = {"TRACE_SAMPLE_RATIO": TRACING, **(settings or {})}
        specs = {
            "inventory": inventory.process_spec(
                name=f"bench-inventory-{tag}",
                port=ports["inventory"],
                keyspace=keyspaces["inventory"],
                extra_env={
                    **shared,
                    "EVENTS_TOPIC": inventory_topic,
                    "ORDERS_TOPIC": orders_topic,
                    "CONSUMER_GROUP": f"bench-inventory-{tag}",
                },
            ),
            "orders": orders.process_spec(
                name=f"bench-orders-{tag}",
                port=ports["orders"],
                keyspace=keyspaces["orders"],
                extra_env={
                    **shared,
                    "EVENTS_TOPIC": orders_topic,
                    "INVENTORY_TOPIC": inventory_topic,
                    "INVENTORY_URL": urls["inventory"],
                    "CONSUMER_GROUP": f"bench-orders-{tag}",
                },
            ),
        }
        # As the operator does in clusters (the services create only what they consume).
        asyncio.run(ensure_topics(KAFKA, [orders_topic, inventory_topic]))
        pid_files = {}
        for name, spec in specs.items():  # inventory first: orders calls it
            run = process.ProcessSpec(
                name=spec.name, argv=[python, *spec.argv[1:]], env=spec.env, cwd=spec.cwd
            )
            pid_files[name] = _start(paths, run, urls[name], cleanup)
        yield Pair(python, urls["orders"], urls["inventory"], orders_topic, pid_files)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of each named process with its descendants."""
    tree = _children()
    spent: dict[str, float] = {}
    for name, root in pids.items():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            todo.extend(tree.get(pid, ()))
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        spent[name] = total / _TICKS
    return spent


def devstack_pids(paths: Paths, names: tuple[str, ...]) -> dict[str, int]:
    found = {}
    for name in names:
        pid_file = paths.pid_file(name)
        if pid_file.exists():
            found[name] = _pid(pid_file)
    return found


def new_tag() -> str:
    return uuid.uuid4().hex[:8]
