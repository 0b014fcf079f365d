"""Grafana dashboards of one store, generated from code (grafana-foundation-sdk).

``build_dashboards(spec, store)`` gives each dashboard's JSON model by file
name: the store overview (SLOs, error budgets), business, inventory, Cassandra,
Kafka and the operator, and one RED dashboard per enabled service. The chart
turns them into ConfigMaps labelled ``grafana_dashboard: "1"`` (the Grafana
sidecar's convention in kube-prometheus-stack); devstack writes them to files.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.builders.dashboards.boards import (
    business,
    inventory,
    operator,
    overview,
    red,
)
from productstore_operator.builders.dashboards.panels import Board, Chart, Query, render
from productstore_operator.builders.dashboards.servers import cassandra, kafka
from productstore_operator.builders.naming import StoreRef
from productstore_operator.models import ProductStoreSpec

# Grafana refuses a uid longer than 40 characters.
UID_LENGTH: Final = 40


def boards(spec: ProductStoreSpec) -> list[Board]:
    """The store's dashboards as data, the per-service ones for its enabled services."""
    enabled = set(spec.services.enabled())
    services = [red(descriptor) for descriptor in DESCRIPTORS if descriptor.name in enabled]
    return [overview(), *services, business(), inventory(), cassandra(), kafka(), operator()]


def dashboard_uid(store: StoreRef, name: str) -> str:
    """A uid unique per store and dashboard, readable where it fits."""
    digest = hashlib.sha256(f"{store.namespace}/{store.name}".encode()).hexdigest()[:8]
    return f"ps-{digest}-{name}"[:UID_LENGTH]


def build_dashboards(spec: ProductStoreSpec, store: StoreRef) -> dict[str, dict[str, Any]]:
    """Each dashboard's Grafana JSON model by file name (``<name>.json``)."""
    return {
        f"{board.name}.json": render(
            board,
            uid=dashboard_uid(store, board.name),
            title_prefix=f"Product Store {store.name} / "
            if board.per_store
            else "Product Store / ",
            namespace=store.namespace,
            store=store.name,
        )
        for board in boards(spec)
    }


def dashboard_files(spec: ProductStoreSpec, store: StoreRef) -> dict[str, str]:
    """Each dashboard as the JSON text of its file (compact, keys sorted: a stable diff)."""
    return {
        name: json.dumps(model, sort_keys=True, separators=(",", ":"))
        for name, model in build_dashboards(spec, store).items()
    }


__all__ = [
    "Board",
    "Chart",
    "Query",
    "boards",
    "build_dashboards",
    "dashboard_files",
    "dashboard_uid",
]
