"""What schema changes cost on devstack's Cassandra: flushed or not, with leftover keyspaces or not.

    .venv/bin/python bench/cassandra_schema.py        # about 10 minutes on 2 cores

The suite makes and drops hundreds of keyspaces (a test module's services, the
stores the operator reconciles), and each round of that is schema changes. Two
settings are measured, each on a Cassandra node of the benchmark's own
(bench/private_cassandra.py; the shared devstack node is never restarted):

- `flushed`: as Cassandra ships, every local schema change flushes the schema
  tables to disk;
- `unflushed`: `-Dcassandra.test.flush_local_schema_changes=false`, which
  devstack's node runs with: the change stays in the memtable and the commit log
  (which a restart replays), as every other write does.

Both nodes run at once and every step is done on one, then on the other, so
both see the same load on a shared machine. For each, ROUNDS rounds of
"orders', inventory's and auth's migrations, each in a keyspace, then DROP
KEYSPACE of the three" are timed on an empty node, then LEFTOVERS keyspaces with
auth's tables are made (timed too) and left, as a suite that does not clean up
leaves them, and the rounds are timed again. Output: JSON on stdout
and in bench/results/cassandra-schema.json, with `flushed`/`unflushed` time ratios
from the same run.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from private_cassandra import Ports, private_node

from devstack.components.cassandra import UNFLUSHED_SCHEMA
from productstore_auth.app.data import migrations_dir as auth_migrations
from productstore_common.cassandra import CassandraSession, Migrator
from productstore_inventory.app.data import migrations_dir as inventory_migrations
from productstore_orders.app.data import migrations_dir as orders_migrations

RESULTS = Path(__file__).parent / "results" / "cassandra-schema.json"
ROUNDS = 4
LEFTOVERS = 30
REPLICATION = {"class": "SimpleStrategy", "replication_factor": 1}
UNFLUSHED = UNFLUSHED_SCHEMA


def _migrate(db: CassandraSession, keyspace: str, directory: Path) -> int:
    report = Migrator(db, keyspace, directory, replication=REPLICATION).migrate()
    return len(report.applied)


def _round(db: CassandraSession, tag: str) -> dict[str, float]:
    services = {
        "orders": orders_migrations(),
        "inventory": inventory_migrations(),
        "auth": auth_migrations(),
    }
    started = time.monotonic()
    for service, directory in services.items():
        _migrate(db, f"{tag}_{service}", directory)
    migrated = time.monotonic()
    for service in services:
        db.session.execute(f"DROP KEYSPACE {tag}_{service}", timeout=120)
    return {"migrate": migrated - started, "drop": time.monotonic() - migrated}


VARIANTS: dict[str, tuple[str, ...]] = {"flushed": (), "unflushed": (UNFLUSHED,)}
PORTS = {"flushed": Ports(), "unflushed": Ports(cql=29142, storage=27100, jmx=27299)}


def _connect(port: int) -> CassandraSession:
    return CassandraSession.connect(
        contact_points=["127.0.0.1"],
        port=port,
        local_dc="datacenter1",
        consistency="ONE",
        connect_timeout=10,
        request_timeout=120,
    )


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        f"{part}_median_seconds": round(statistics.median(run[part] for run in runs), 3)
        for part in ("migrate", "drop")
    }


def _measure(dbs: dict[str, CassandraSession]) -> dict[str, dict[str, Any]]:
    """Every step on one node, then the same on the other: both see the same load."""
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in dbs}
    crowded: dict[str, list[dict[str, float]]] = {name: [] for name in dbs}
    made = dict.fromkeys(dbs, 0.0)
    for i in range(ROUNDS):
        for name, db in dbs.items():
            rounds[name].append(_round(db, f"empty_{i}"))
    for i in range(LEFTOVERS):
        for name, db in dbs.items():
            started = time.monotonic()
            _migrate(db, f"leftover_{i}", auth_migrations())
            made[name] += time.monotonic() - started
    for i in range(ROUNDS):
        for name, db in dbs.items():
            crowded[name].append(_round(db, f"crowded_{i}"))
    return {
        name: {
            "empty_node": _median(rounds[name]),
            "leftovers_made_seconds": round(made[name], 1),
            f"with_{LEFTOVERS}_leftover_keyspaces": _median(crowded[name]),
        }
        for name in dbs
    }


def main() -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="bench-schema-"))
    try:
        with contextlib.ExitStack() as stack:
            started = {
                name: stack.enter_context(
                    private_node(
                        f"bench-schema-{name}",
                        root / name,
                        settings={},
                        jvm_flags=flags,
                        ports=PORTS[name],
                    )
                )
                for name, flags in VARIANTS.items()
            }
            dbs = {name: _connect(PORTS[name].cql) for name in VARIANTS}
            for db in dbs.values():
                stack.callback(db.close)
            runs = _measure(dbs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for name, seconds in started.items():
        runs[name]["node_start_seconds"] = round(seconds, 1)
    base = runs["flushed"]
    ratios = {
        "migrate_empty_node": base["empty_node"]["migrate_median_seconds"]
        / runs["unflushed"]["empty_node"]["migrate_median_seconds"],
        "drop_empty_node": base["empty_node"]["drop_median_seconds"]
        / runs["unflushed"]["empty_node"]["drop_median_seconds"],
        "leftovers_made": base["leftovers_made_seconds"]
        / runs["unflushed"]["leftovers_made_seconds"],
        f"migrate_with_{LEFTOVERS}_leftovers": base[f"with_{LEFTOVERS}_leftover_keyspaces"][
            "migrate_median_seconds"
        ]
        / runs["unflushed"][f"with_{LEFTOVERS}_leftover_keyspaces"]["migrate_median_seconds"],
    }
    return {
        "benchmark": "cassandra-schema",
        "rounds": ROUNDS,
        "round": "orders', inventory's and auth's migrations, each in a keyspace, then the drops",
        "runs": runs,
        "speedup_unflushed_over_flushed": {key: round(value, 2) for key, value in ratios.items()},
    }


if __name__ == "__main__":
    report = main()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
