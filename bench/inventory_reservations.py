"""Reservations of one hot product by 64 concurrent buyers, on devstack's Cassandra.

    .venv/bin/python bench/inventory_reservations.py          # about a minute
    BENCH_UNITS=200 BENCH_BUYERS=64 .venv/bin/python bench/inventory_reservations.py

The hot product has BENCH_UNITS units (two locations); BENCH_BUYERS buyers each
reserve one unit at a time, order after order, until the product is sold out. Two
layouts: every buyer in one process (one replica: same-process buyers queue on the
partition's local lock), and every buyer with its own Reservations (as many
replicas as buyers: every compare-and-set races in Paxos). Reports reservations per
second, reserve() latency p50/p99, the conflict rate (refused compare-and-sets per
reservation), CAS timeouts, the oversell count (must be 0) and the node's Paxos
variant (system_views.settings), so runs before and after switching to v2 compare.

Uses a keyspace of its own (`bench_inventory_<id>`, dropped at the end); no relay
runs, so the outbox rows it writes go with the keyspace.
Output: JSON on stdout and in bench/results/inventory-reservations.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cassandra.query import SimpleStatement

from devstack import cassandra_auth
from devstack.paths import Paths
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_common.events import Outbox
from productstore_common.telemetry.metrics import AppMetrics
from productstore_inventory.app.data import migrations_dir
from productstore_inventory.app.data.stock import StockStore
from productstore_inventory.app.services.metrics import InventoryMetrics
from productstore_inventory.app.services.reservations import Reservations
from productstore_inventory.app.services.stock import StockLevels

RESULTS = Path(__file__).parent / "results" / "inventory-reservations.json"
UNITS = int(os.environ.get("BENCH_UNITS", "200"))
# Another node (bench/inventory_paxos.py runs private ones): its CQL port.
CQL_PORT = int(os.environ.get("BENCH_CASSANDRA_PORT", "9042"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "64"))


def _count(counter: Any) -> float:
    return float(sum(sample.value for metric in counter.collect() for sample in metric.samples
                     if sample.name.endswith("_total")))  # fmt: skip


async def _layout(db: CassandraSession, *, replicas: int) -> dict[str, Any]:
    store = StockStore(db, resolved_hold_ttl_seconds=3600)
    outbox = await Outbox.create(db, topic="bench.inventory")
    metrics = InventoryMetrics.of(AppMetrics("bench", process_metrics=False))
    levels = StockLevels(store, outbox, metrics)

    def reservations() -> Reservations:
        return Reservations(
            store, outbox, levels, metrics, hold_seconds=900, cas_deadline_seconds=60
        )

    instances = [reservations() for _ in range(replicas)]
    hot = uuid.uuid4()
    await levels.set_stock(hot, {"east": UNITS // 2, "west": UNITS - UNITS // 2}, 0)
    latencies: list[float] = []
    sold = 0

    async def buyer(index: int) -> None:
        nonlocal sold
        mine = instances[index % replicas]
        while True:
            started = time.perf_counter()
            result = await mine.reserve(uuid.uuid4(), [(hot, 1)])
            latencies.append(time.perf_counter() - started)
            if result.outcome != "reserved":
                return
            sold += 1

    started = time.perf_counter()
    await asyncio.gather(*(buyer(index) for index in range(BUYERS)))
    elapsed = time.perf_counter() - started
    view = await levels.view(hot)
    if view is None:
        raise RuntimeError("the hot product's stock is gone")
    latencies.sort()
    return {
        "replicas": replicas,
        "reservations": sold,
        "seconds": round(elapsed, 2),
        "reservations_per_second": round(sold / elapsed, 1),
        "reserve_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "reserve_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "conflicts_per_reservation": round(_count(metrics.conflicts) / max(sold, 1), 2),
        "cas_timeouts": _count(metrics.cas_unknown),
        "oversold": max(0, view.reserved - UNITS) + max(0, sold - UNITS),
        "invariant_holds": all(0 <= c.reserved <= c.on_hand for c in view.locations.values()),
        "all_sold": sold == UNITS == view.reserved,
    }


async def main() -> dict[str, Any]:
    keyspace = f"bench_inventory_{uuid.uuid4().hex[:10]}"
    # devstack's superuser: the bench makes and drops a keyspace of its own.
    login = cassandra_auth.superuser(Paths.from_env())
    db = CassandraSession.connect(
        contact_points=["127.0.0.1"],
        port=CQL_PORT,
        local_dc="datacenter1",
        username=login.username,
        password=login.password,
        consistency="ONE",
    )
    try:
        variant = db.execute(
            "SELECT value FROM system_views.settings WHERE name = 'paxos_variant'"
        ).one()
        replication = {"class": "SimpleStrategy", "replication_factor": 1}
        Migrator(db, keyspace, migrations_dir(), replication=replication).migrate()
        db.session.set_keyspace(keyspace)
        runs = [await _layout(db, replicas=1), await _layout(db, replicas=BUYERS)]
    finally:
        db.execute(SimpleStatement(f"DROP KEYSPACE IF EXISTS {keyspace}"), timeout=60)
        db.close()
    return {
        "benchmark": "inventory-reservations",
        "paxos_variant": variant.value if variant else None,
        "units": UNITS,
        "buyers": BUYERS,
        "load_average": os.getloadavg(),
        "runs": runs,
    }


if __name__ == "__main__":
    report = asyncio.run(main())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
