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
from productstore_operator.conditions import INVALID_SPEC, set_condition, summarise
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
from productstore_operator.reconcile.vault_step import admin_for


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
    previous = _previous(status)
    conditions = set_condition(
        previous.conditions,
        READY,
        "False",
        reason=INVALID_SPEC,
        message=f"The spec cannot be applied: {message}. Nothing was changed; fix the spec.",
        generation=generation,
        now=now,
    )
    new = previous.model_copy(
        update={"conditions": conditions, "phase": "Failed", "observed_generation": generation}
    )
    outcome = Outcome(status=_status_document(new), invalid=message)
    if _transition_events(previous.conditions, conditions):
        outcome.events.append(Event("Warning", INVALID_SPEC, message))
    return outcome


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
    )


async def reconcile(body: Mapping[str, Any], runtime: Runtime) -> Outcome:
    """One ordered pass over the store ``body`` (the ProductStore as the API returned it)."""
    now = datetime.now(UTC)
    status = body.get("status") or {}
    generation = body["metadata"].get("generation")
    try:
        plan = plan_for(body, runtime)
    except InvalidSpecError as exc:
        return invalid_outcome(str(exc), status, generation, now)
    async with runtime.lock(plan.uid):
        # The timer and a change handler may both have waited here: continue from
        # the status the other one wrote, not from this handler's older copy.
        fresh = await _fresh(plan, runtime)
        if fresh is not None:
            status = fresh.get("status") or {}
        previous = _previous(status)
        ctx = PassContext(plan, runtime, services=dict(previous.services), version=previous.version)
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
    try:
        plan = plan_for(body, runtime)
    except InvalidSpecError:
        # Never applied (refused before anything was touched): nothing to remove.
        # A spec made invalid after it was applied still has a release: remove it.
        metadata = body["metadata"]
        await runtime.helm.uninstall(metadata["name"], metadata["namespace"])
        return [Event("Normal", "Deleted", "invalid spec: removed the release, if any")]
    events: list[Event] = []
    ns = plan.store.namespace
    await runtime.helm.uninstall(plan.release, ns)
    events.append(Event("Normal", "Deleted", f"uninstalled release {plan.release}"))
    retain = plan.spec.cassandra.deletion_policy == "Retain"
    if plan.k8ssandra is None:
        # The services' roles (no pod logs in any more), and with Delete their data.
        events.append(await drop_external_roles(plan, runtime, drop_keyspaces=not retain))
    removed = await admin_for(plan, runtime).remove_store(
        plan.vault, plan.role_prefix, secrets=not retain
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
