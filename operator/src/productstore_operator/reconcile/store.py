"""The reconcile of one ProductStore, and its deletion.

Level-based: every pass compares the cluster (and Vault) with the plan and
applies only the difference, running the rows of ``steps.STEPS`` in order
(secrets, Cassandra, the release, the mesh). The driver is one loop: a step
that has not converged stops the pass; the next one (kopf's retry or the
timer) continues. An invalid spec is refused before anything is touched.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from productstore_operator.builders import InvalidSpecError
from productstore_operator.builders.k8ssandra import PLURAL as K8SSANDRA_PLURAL
from productstore_operator.builders.vault import VaultNames
from productstore_operator.conditions import (
    INVALID_SPEC,
    NAMESPACE_NOT_ALLOWED,
    NAMESPACE_NOT_GRANTED,
    set_condition,
    summarise,
)
from productstore_operator.config import PROTECTED_NAMESPACES
from productstore_operator.io import TransientError
from productstore_operator.models import GROUP, PLURAL, VERSION, Condition, ProductStoreStatus
from productstore_operator.models.status import READY
from productstore_operator.reconcile.cassandra_roles import drop_external_roles
from productstore_operator.reconcile.cassandra_step import GROUP as K8SSANDRA_GROUP
from productstore_operator.reconcile.cassandra_step import VERSION as K8SSANDRA_VERSION
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import (
    RETRY_SECONDS,
    Event,
    EventType,
    Outcome,
    StepResult,
)
from productstore_operator.reconcile.plan import Plan, make_plan
from productstore_operator.reconcile.runtime import Runtime
from productstore_operator.reconcile.steps import STEPS, Step
from productstore_operator.reconcile.vault_step import admin_for, recorded_names, remove_recorded


def _previous(status: Mapping[str, Any]) -> ProductStoreStatus:
    try:
        return ProductStoreStatus.model_validate(dict(status))
    except ValidationError:
        # A status someone else wrote badly: start over rather than fail forever.
        return ProductStoreStatus()


def _transition_events(before: Sequence[Condition], after: Sequence[Condition]) -> list[Event]:
    """One event per change of Ready, and per component that turned False (not per pass)."""
    old = {c.type: c.status for c in before}
    events: list[Event] = []
    for condition in after:
        if old.get(condition.type) == condition.status:
            continue
        # Ready tells the story; a component speaks up only when it fails.
        if condition.type != READY and condition.status != "False":
            continue
        kind: EventType = "Warning" if condition.status == "False" else "Normal"
        events.append(
            Event(
                kind,
                condition.reason,
                f"{condition.type} is {condition.status}: {condition.message}",
            )
        )
    return events


def _status_document(status: ProductStoreStatus) -> dict[str, Any]:
    document: dict[str, Any] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document


def invalid_outcome(
    message: str, status: Mapping[str, Any], generation: int | None, now: datetime
) -> Outcome:
    """Ready False with reason InvalidSpec and what to change; nothing else moves."""
    return refused_outcome(
        INVALID_SPEC,
        f"The spec cannot be applied: {message}. Nothing was changed; fix the spec.",
        status,
        generation,
        now,
        invalid=message,
    )


def refused_outcome(
    reason: str,
    message: str,
    status: Mapping[str, Any],
    generation: int | None,
    now: datetime,
    *,
    invalid: str | None = None,
    retry_after: float | None = None,
) -> Outcome:
    """Ready False with ``reason`` and ``message``, phase Failed, one Warning event when
    Ready turns False; nothing is applied. ``invalid``: only a change of the spec (or
    the store's namespace) fixes it; else the operator looks again after ``retry_after``."""
    previous = _previous(status)
    conditions = set_condition(
        previous.conditions,
        READY,
        "False",
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    new = previous.model_copy(
        update={"conditions": conditions, "phase": "Failed", "observed_generation": generation}
    )
    outcome = Outcome(status=_status_document(new), invalid=invalid, retry_after=retry_after)
    if _transition_events(previous.conditions, conditions):
        outcome.events.append(Event("Warning", reason, invalid or message))
    return outcome


def _not_allowed_here(namespace: str) -> str:
    return (
        f"The operator never acts in namespace {namespace} ({', '.join(PROTECTED_NAMESPACES)} "
        "belong to the control plane). Nothing was changed; create the store in a namespace "
        "of its own"
    )


async def _granted(namespace: str, runtime: Runtime) -> bool:
    """Whether the operator was given the store's namespace (a RoleBinding of its
    namespaced ClusterRole): helm keeps the release in a Secret there, so without
    Secrets nothing else can be done."""
    return await runtime.kube.can_i("create", "", "secrets", namespace)


def _not_granted_here(namespace: str) -> str:
    return (
        f"The operator has no access to namespace {namespace}: it may act only where an "
        "administrator granted it. Add the namespace to the operator chart's "
        "operator.namespaces, or bind the operator's namespaced ClusterRole there "
        f"(kubectl create rolebinding productstore-operator --namespace {namespace} "
        "--clusterrole <release>-productstore-operator --serviceaccount "
        "<operator namespace>:<operator account>). Nothing was changed; the operator "
        "looks again every resync"
    )


def plan_for(body: Mapping[str, Any], runtime: Runtime) -> Plan:
    """The plan of the object ``body``; InvalidSpecError if it cannot be built."""
    metadata = body["metadata"]
    return make_plan(
        name=metadata["name"],
        namespace=metadata["namespace"],
        uid=metadata["uid"],
        generation=metadata.get("generation"),
        spec=body.get("spec") or {},
        settings=runtime.config.settings,
        allowed_registries=runtime.config.allowed_registries,
    )


async def reconcile(body: Mapping[str, Any], runtime: Runtime) -> Outcome:
    """One ordered pass over the store ``body`` (the ProductStore as the API returned it)."""
    now = datetime.now(UTC)
    status = body.get("status") or {}
    generation = body["metadata"].get("generation")
    namespace = body["metadata"]["namespace"]
    if namespace in PROTECTED_NAMESPACES:
        message = _not_allowed_here(namespace)
        return refused_outcome(
            NAMESPACE_NOT_ALLOWED, message, status, generation, now, invalid=message
        )
    try:
        plan = plan_for(body, runtime)
    except InvalidSpecError as exc:
        return invalid_outcome(str(exc), status, generation, now)
    try:
        granted = await _granted(namespace, runtime)
    except TransientError:
        granted = True  # the steps meet the same outage and report it
    if not granted:
        return refused_outcome(
            NAMESPACE_NOT_GRANTED,
            _not_granted_here(namespace),
            status,
            generation,
            now,
            retry_after=runtime.config.resync_seconds,
        )
    async with runtime.lock(plan.uid):
        # The timer and a change handler may both have waited here: continue from
        # the status the other one wrote, not from this handler's older copy.
        fresh = await _fresh(plan, runtime)
        if fresh is not None:
            status = fresh.get("status") or {}
        previous = _previous(status)
        ctx = PassContext(
            plan,
            runtime,
            services=dict(previous.services),
            version=previous.version,
            vault=previous.vault,
        )
        return await run_steps(STEPS, ctx, previous, now)


async def _fresh(plan: Plan, runtime: Runtime) -> dict[str, Any] | None:
    try:
        return await runtime.kube.get(GROUP, VERSION, PLURAL, plan.store.namespace, plan.store.name)
    except TransientError:
        return None


async def run_steps(
    steps: Sequence[Step], ctx: PassContext, previous: ProductStoreStatus, now: datetime
) -> Outcome:
    """Run ``steps`` in order up to the first that has not converged; the status,
    events and retry of the pass follow from their results."""
    ran: list[tuple[Step, StepResult]] = []
    seconds: dict[str, float] = {}
    for step in steps:
        started = time.monotonic()
        result = await step.run(ctx)
        seconds[step.metric] = time.monotonic() - started
        ran.append((step, result))
        if not result.done:
            break
    plan = ctx.plan
    conditions = list(previous.conditions)
    for step, result in ran:
        conditions = set_condition(
            conditions,
            step.condition,
            result.status,
            reason=result.reason,
            message=result.message,
            generation=plan.generation,
            now=now,
        )
    phase, conditions = summarise(
        conditions, [step.condition for step in steps], plan.generation, now
    )
    new = ProductStoreStatus(
        observed_generation=plan.generation,
        phase=phase,
        version=ctx.version,
        conditions=conditions,
        services=ctx.services,
        vault=ctx.vault,
    )
    outcome = Outcome(status=_status_document(new), step_seconds=seconds)
    for _, result in ran:
        outcome.events.extend(result.events)
    outcome.events.extend(_transition_events(previous.conditions, conditions))
    stopped, result = ran[-1]
    if not result.done:
        outcome.retry_after = result.retry_after or RETRY_SECONDS
        if stopped.counts_as_error(result):
            outcome.failed_step = stopped.metric
    return outcome


async def finalize(body: Mapping[str, Any], runtime: Runtime) -> list[Event]:
    """Remove what the store owns outside its namespace's garbage collection.

    Uninstalls the release; with an external Cassandra drops the services' roles
    (and, with deletionPolicy Delete, their keyspaces); deletes the store's Vault
    roles and policies (and its
    secrets when cassandra.deletionPolicy is Delete: with Retain the data outlives
    the store and so must the credentials that open it); keeps (Retain: owner
    reference removed) or deletes (Delete) the K8ssandraCluster. Raises
    TransientError while something cannot be removed yet.
    """
    if body["metadata"]["namespace"] in PROTECTED_NAMESPACES:
        # Refused before anything was applied: there is nothing of ours to remove.
        return [Event("Normal", "Deleted", "a store in a protected namespace had nothing applied")]
    if not await _granted(body["metadata"]["namespace"], runtime):
        # Refused every pass, so nothing was applied (revoke a grant only after
        # its stores are deleted); trying would block the deletion forever.
        return [Event("Normal", "Deleted", "no access to the namespace: removed nothing")]
    try:
        plan = plan_for(body, runtime)
    except InvalidSpecError:
        # Never applied (refused before anything was touched): nothing to remove.
        # A spec made invalid after it was applied still has a release, and the
        # Vault names an earlier pass recorded: remove them.
        metadata = body["metadata"]
        await runtime.helm.uninstall(metadata["name"], metadata["namespace"])
        gone = await remove_recorded(_previous(body.get("status") or {}).vault, runtime)
        vault = f"; removed from Vault: {', '.join(gone)}" if gone else ""
        return [Event("Normal", "Deleted", f"invalid spec: removed the release, if any{vault}")]
    events: list[Event] = []
    ns = plan.store.namespace
    await runtime.helm.uninstall(plan.release, ns)
    events.append(Event("Normal", "Deleted", f"uninstalled release {plan.release}"))
    retain = plan.spec.cassandra.deletion_policy == "Retain"
    if plan.k8ssandra is None:
        # The services' roles (no pod logs in any more), and with Delete their data.
        events.append(await drop_external_roles(plan, runtime, drop_keyspaces=not retain))
    # What earlier passes recorded, and what this plan writes (a pass that died
    # before its status was saved may have written it): by exact name only.
    recorded = recorded_names(_previous(body.get("status") or {}).vault, plan)
    admin = admin_for(plan, runtime)
    removed: list[str] = []
    if recorded.auth_mount != plan.vault.auth_mount:
        # The configuration moved the auth mount: the recorded roles are in the old one.
        removed += await admin.remove_names(recorded)
        recorded = VaultNames(plan.vault.auth_mount)
    removed += await admin.remove_store(
        plan.vault, recorded.union(plan.vault.names()), secrets=not retain
    )
    events.append(
        Event("Normal", "Deleted", f"removed from Vault: {', '.join(removed) or 'nothing'}")
    )
    if plan.k8ssandra is not None:
        events.append(await _release_cassandra(plan, runtime, retain=retain))
    runtime.forget(plan.uid)
    return events


async def _release_cassandra(plan: Plan, runtime: Runtime, *, retain: bool) -> Event:
    assert plan.k8ssandra is not None  # noqa: S101 - checked by the caller
    name = plan.k8ssandra["metadata"]["name"]
    ns = plan.store.namespace
    args = (K8SSANDRA_GROUP, K8SSANDRA_VERSION, K8SSANDRA_PLURAL, ns, name)
    cluster = await runtime.kube.get(*args)
    if cluster is None:
        return Event("Normal", "Deleted", f"K8ssandraCluster {name} was already gone")
    if not retain:
        await runtime.kube.delete(*args)
        return Event(
            "Normal", "Deleted", f"deleted K8ssandraCluster {name} (deletionPolicy Delete)"
        )
    owners = [
        ref
        for ref in cluster["metadata"].get("ownerReferences") or []
        if ref.get("uid") != plan.uid
    ]
    # Without our owner reference the garbage collector leaves it (and its data) alone.
    await runtime.kube.patch(*args, changes={"metadata": {"ownerReferences": owners or None}})
    return Event("Normal", "Retained", f"kept K8ssandraCluster {name} (deletionPolicy Retain)")
