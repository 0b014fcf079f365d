"""Step CassandraReady: the store's K8ssandraCluster, and waiting until it is ready.

k8ssandra-operator (v1.21) reports readiness in the K8ssandraCluster's status:
condition CassandraInitialized once the cluster first came up, and per
datacenter ``status.datacenters.<dc>.cassandra`` (cass-operator's
CassandraDatacenter status) with ``cassandraOperatorProgress: Ready`` and a
``Ready`` condition.
"""

from __future__ import annotations

from typing import Any, Final

from productstore_operator.builders import SPEC_HASH_ANNOTATION
from productstore_operator.builders.k8ssandra import API_VERSION, KIND, PLURAL
from productstore_operator.io import TransientError
from productstore_operator.reconcile.cassandra_roles import ensure_external_roles
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import Event, StepResult
from productstore_operator.reconcile.plan import owner_reference

GROUP, _, VERSION = API_VERSION.partition("/")
INITIALIZED: Final = "CassandraInitialized"
# The step waits (no error) while the cluster provisions.
PROVISIONING: Final = "CassandraProvisioning"


def _owned(child: dict[str, Any], uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in child["metadata"].get("ownerReferences") or [])


def cluster_readiness(cluster: dict[str, Any], datacenter: str) -> str | None:
    """None when the K8ssandraCluster is ready, else what it still waits for."""
    status = cluster.get("status") or {}
    initialized = any(
        c.get("type") == INITIALIZED and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if not initialized:
        return f"condition {INITIALIZED} is not True yet"
    dc = ((status.get("datacenters") or {}).get(datacenter) or {}).get("cassandra") or {}
    progress = dc.get("cassandraOperatorProgress")
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in dc.get("conditions") or []
    )
    if progress != "Ready" or not ready:
        return f"datacenter {datacenter} is {progress or 'not reported'}"
    return None


async def ensure_cassandra(ctx: PassContext) -> StepResult:
    """Create or update the K8ssandraCluster, then wait for it; for an external
    Cassandra, each service's own role (reconcile.cassandra_roles)."""
    plan, runtime = ctx.plan, ctx.runtime
    if plan.k8ssandra is None:
        return await ensure_external_roles(ctx)
    body = {
        **plan.k8ssandra,
        "metadata": {**plan.k8ssandra["metadata"], "ownerReferences": [owner_reference(plan)]},
    }
    name = body["metadata"]["name"]
    namespace = plan.store.namespace
    events: list[Event] = []
    try:
        cluster = await runtime.kube.get(GROUP, VERSION, PLURAL, namespace, name)
        wanted = body["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
        if cluster is None:
            cluster = await runtime.kube.create(GROUP, VERSION, PLURAL, body)
            events.append(Event("Normal", "CassandraCreated", f"created {KIND} {name}"))
        elif (cluster["metadata"].get("annotations") or {}).get(
            SPEC_HASH_ANNOTATION
        ) != wanted or not _owned(cluster, plan.uid):
            # Merge patch: k8ssandra-operator's own fields (and status) stay.
            cluster = await runtime.kube.patch(
                GROUP,
                VERSION,
                PLURAL,
                namespace,
                name,
                changes={"metadata": body["metadata"], "spec": body["spec"]},
            )
            events.append(Event("Normal", "CassandraUpdated", f"updated {KIND} {name}"))
    except TransientError as exc:
        return StepResult.failed("KubernetesError", str(exc))
    waiting = cluster_readiness(cluster, plan.spec.cassandra.k8ssandra.datacenter.name)
    if waiting is not None:
        return StepResult.waiting(
            PROVISIONING,
            f"waiting for {KIND} {name}: {waiting}; the services start once it is ready",
            events,
        )
    return StepResult.ready("CassandraReady", f"{KIND} {name} is ready", events)
