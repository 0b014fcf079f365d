"""Step ServicesReady: the store's Helm release, then its Deployments' rollout.

The release is upgraded only when the hash of (values, chart) differs from the
one stamped into the deployed revision, or when an object of the deployed
manifest is missing or drifted (the pass's inventory compares the hash of each
rendered object with the hash of the same fields live): a timer pass over a
converged store runs no helm upgrade and adds no revision. A failed upgrade is
rolled back to the last deployed revision. So is an upgrade whose rollout fails
(a Deployment's Progressing=False, ProgressDeadlineExceeded: an image that is not
there, Pods that never get ready): back to the last revision that rolled out,
and that spec is not tried again until it changes or the backoff passes
(docs/adr/0040).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

from productstore_operator.builders.meta import spec_hash
from productstore_operator.builders.naming import component_name, gateway_name
from productstore_operator.io import Revision, TransientError
from productstore_operator.models import ServiceStatus
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.inventory import (
    Drift,
    Inventory,
    deployed_revision,
    deployment_state,
    pod_trouble,
)
from productstore_operator.reconcile.outcome import Event, StepResult
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import FailedUpgrade, Runtime

# Lines of helm's error output kept in a condition message.
ERROR_LINES = 5
# The step waits (no error) for these: a rollout, another helm.
ROLLING_OUT: Final = "RollingOut"
RELEASE_PENDING: Final = "ReleasePending"
UPGRADE_FAILED: Final = "UpgradeFailed"
ROLLOUT_FAILED: Final = "RolloutFailed"
PODS = ("", "v1", "pods")


def release_stamp(plan: Plan, runtime: Runtime) -> str:
    """What the deployed revision must carry for the release to be up to date."""
    return spec_hash({"values": plan.values, "chart": runtime.helm.digest})


def _tail(text: str) -> str:
    return " ".join(text.strip().splitlines()[-ERROR_LINES:]) or "no output"


async def _clear_stale_pending(
    plan: Plan, runtime: Runtime, history: tuple[Revision, ...]
) -> Event | None:
    """A pending release left by a helm that died: roll it back (or uninstall a
    first install). None while it may still be running."""
    latest = history[-1]
    if latest.updated is not None:
        age = (datetime.now(UTC) - latest.updated).total_seconds()
        if age < runtime.stale_pending_seconds:
            return None
    good = deployed_revision(history[:-1]) or next(
        (r for r in reversed(history[:-1]) if r.status == "superseded"), None
    )
    ns = plan.store.namespace
    if good is not None:
        await runtime.helm.rollback(plan.release, ns, good.revision)
        what = f"rolled back to revision {good.revision}"
    else:
        await runtime.helm.uninstall(plan.release, ns)
        what = "uninstalled the unfinished first install"
    return Event(
        "Warning", "ReleaseRepaired", f"revision {latest.revision} was left {latest.status}: {what}"
    )


async def _upgrade(
    plan: Plan, runtime: Runtime, stamp: str, reason: str, previous: Revision | None
) -> tuple[list[Event], StepResult | None]:
    """Run the upgrade; on failure roll back and return the result to give."""
    ns = plan.store.namespace
    ok, error = await runtime.helm.upgrade(plan.release, ns, plan.values, stamp)
    history = await runtime.helm.history(plan.release, ns)
    if ok:
        runtime.failed_upgrades.pop(plan.uid, None)
        current = deployed_revision(history)
        verb = "installed" if previous is None else "upgraded"
        number = current.revision if current else "?"
        message = f"{verb} release {plan.release} (revision {number}): {reason}"
        return [Event("Normal", "Upgraded", message)], None
    events = [Event("Warning", "UpgradeFailed", f"helm upgrade failed: {_tail(error)}")]
    good = deployed_revision(history)
    applied = bool(history) and history[-1].status == "failed"
    if good is not None and not applied:
        # Refused before it changed anything (e.g. an object helm does not own).
        after = f"nothing was changed; revision {good.revision} stays deployed"
    elif good is not None and good.stamped_hash != stamp:
        rolled, rollback_error = await runtime.helm.rollback(plan.release, ns, good.revision)
        after = (
            f"rolled back to revision {good.revision}"
            if rolled
            else f"rollback to revision {good.revision} failed too: {_tail(rollback_error)}"
        )
        events.append(Event("Warning", "RolledBack", after))
    elif good is None:
        # A failed first install leaves no revision to go back to: start clean next time.
        await runtime.helm.uninstall(plan.release, ns)
        after = "removed the failed first install"
    else:
        after = f"revision {good.revision} stays deployed"
    message = (
        f"helm upgrade of release {plan.release} failed: {_tail(error)}; {after}. "
        f"It is retried in {runtime.failed_upgrade_backoff:.0f}s or when the spec changes"
    )
    runtime.failed_upgrades[plan.uid] = FailedUpgrade(stamp, time.monotonic(), message)
    return events, StepResult.failed(
        UPGRADE_FAILED, message, events, after=runtime.failed_upgrade_backoff
    )


def helm_repairs(drift: Drift) -> bool:
    """Whether ``helm upgrade`` puts ``drift`` back.

    It creates a missing object, and its three-way merge restores the edited
    fields of a built-in kind. A custom resource (Istio's) it patches only with
    the difference between the old and the new manifest, so an edit stays:
    the step restores those itself. Built-in API groups have no dot (apps,
    policy) or end in .k8s.io; a CRD's group must have a dot and may not.
    """
    group = drift.ref.group
    return drift.field is None or "." not in group or group.endswith(".k8s.io")


async def _restore(ctx: PassContext, drifted: list[Drift]) -> Event:
    """Merge-patch each edited custom resource with its rendered fields."""
    for drift in drifted:
        ref, body = drift.ref, drift.item.body
        metadata = body.get("metadata") or {}
        changes = {k: v for k, v in body.items() if k not in {"apiVersion", "kind", "metadata"}}
        changes["metadata"] = {
            k: metadata[k] for k in ("labels", "annotations") if metadata.get(k) is not None
        }
        await ctx.runtime.kube.patch(
            ref.group, ref.version, ref.plural, ref.namespace, ref.name, changes=changes
        )
    what = ", ".join(str(d) for d in drifted)
    return Event("Normal", "DriftRepaired", f"restored {what} as the release rendered them")


async def _converge_objects(
    ctx: PassContext, inventory: Inventory, stamp: str, events: list[Event]
) -> tuple[Inventory, StepResult | None]:
    """Upgrade when the values, the chart or the objects differ from the release."""
    plan, runtime = ctx.plan, ctx.runtime
    deployed = inventory.deployed
    current = inventory.drift() if deployed is not None else []
    # Drift a repair could not move stays known only while it lasts.
    known = runtime.unrepaired.pop(plan.uid, frozenset()) & {d.signature for d in current}
    if known:
        runtime.unrepaired[plan.uid] = known
    drift = [d for d in current if d.signature not in known]
    by_helm = [d for d in drift if helm_repairs(d)]
    if deployed is None or deployed.stamped_hash != stamp or by_helm:
        failed = runtime.failed_upgrades.get(plan.uid)
        if (
            failed is not None
            and failed.stamp == stamp
            and not by_helm
            and time.monotonic() - failed.at < runtime.failed_upgrade_backoff
        ):
            return inventory, StepResult.failed(
                failed.reason, failed.message, after=runtime.failed_upgrade_backoff
            )
        if deployed is None:
            reason = "first install"
        elif deployed.stamped_hash != stamp:
            reason = "the spec or the chart changed"
        else:
            reason = f"repairing {', '.join(str(d) for d in by_helm)}"
        upgrade_events, failure = await _upgrade(plan, runtime, stamp, reason, deployed)
        ctx.release_changed()
        events += upgrade_events
        if failure is not None:
            return inventory, failure
        inventory = await ctx.inventory()
    # Edits helm left in place (all of them for custom resources), the
    # upgrade's new manifest considered.
    left = [d for d in inventory.drift() if d.signature not in known and d.field is not None]
    custom = [d for d in left if not helm_repairs(d)]
    if custom:
        events.append(await _restore(ctx, custom))
        ctx.release_changed()
        inventory = await ctx.inventory()
    if left:
        tried = {d.signature for d in drift} | {d.signature for d in left}
        stuck = [d for d in inventory.drift() if d.signature in tried and d.field is not None]
        if stuck:
            # What the server rewrites (or someone keeps rewriting) is reported
            # once, not upgraded again every pass.
            runtime.unrepaired[plan.uid] = known | {d.signature for d in stuck}
            events.append(
                Event(
                    "Warning",
                    "DriftNotRepaired",
                    f"{', '.join(str(d) for d in stuck)} still differ from the release "
                    "after a repair; not retried until they change",
                )
            )
    return inventory, None


async def ensure_release(ctx: PassContext) -> StepResult:
    """Install or upgrade the release when needed, then report the rollout."""
    plan, runtime = ctx.plan, ctx.runtime
    events: list[Event] = []
    # A failed step reports no services (as before the step table).
    ctx.services = {}
    try:
        inventory = await ctx.inventory()
        pending = inventory.pending
        if pending is not None:
            event = await _clear_stale_pending(plan, runtime, inventory.history)
            if event is None:
                return StepResult.waiting(
                    RELEASE_PENDING,
                    f"release {plan.release} revision {pending.revision} is "
                    f"{pending.status} (another helm is running); waiting for it",
                )
            events.append(event)
            ctx.release_changed()
            inventory = await ctx.inventory()
        inventory, failure = await _converge_objects(
            ctx, inventory, release_stamp(plan, runtime), events
        )
        if failure is not None:
            return failure
        failure = await _roll_back_failed_rollout(ctx, inventory, events)
        if failure is not None:
            return failure
    except TransientError as exc:
        return StepResult.failed("HelmError", str(exc), events)
    return _rollout(ctx, inventory, events)


def rollback_target(
    history: tuple[Revision, ...], failed: Revision, rolled_out: int | None
) -> Revision | None:
    """The revision a failed rollout of ``failed`` goes back to: the newest one seen
    rolled out, else (the operator restarted since) the one before ``failed``."""
    earlier = [r for r in history if r.revision < failed.revision and r.status == "superseded"]
    known = next((r for r in earlier if r.revision == rolled_out), None)
    return known or (earlier[-1] if earlier else None)


async def _why(ctx: PassContext, deployment: dict[str, Any]) -> str:
    """What the failed Deployment's Pods say: how many are not ready, and why."""
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = await ctx.runtime.kube.list(*PODS, ctx.plan.store.namespace, selector)
    troubles = [t for t in map(pod_trouble, pods) if t is not None]
    if not troubles:
        return "no Pod reports a reason"
    count = len(troubles)
    return f"{count} Pod{'s' if count > 1 else ''} not ready, {troubles[0]}"


async def _roll_back_failed_rollout(
    ctx: PassContext, inventory: Inventory, events: list[Event]
) -> StepResult | None:
    """Roll the release back when a Deployment of the deployed revision gave up."""
    plan, runtime = ctx.plan, ctx.runtime
    deployed = inventory.deployed
    if deployed is None or runtime.rolled_out.get(plan.uid) == deployed.revision:
        # Nothing to go back to, or this revision rolled out before (a later
        # failure, e.g. a node that lost its images, is no bad version).
        return None
    failed: list[str] = []
    for service in plan.spec.services.enabled():
        deployment = inventory.deployments.get(component_name(plan.store, service))
        if deployment is None or not deployment_state(deployment).failed:
            continue
        deadline = (deployment.get("spec") or {}).get("progressDeadlineSeconds")
        failed.append(
            f"{service} made no progress in {deadline}s (ProgressDeadlineExceeded): "
            f"{await _why(ctx, deployment)}"
        )
    if not failed:
        return None
    stamp = release_stamp(plan, runtime)
    what = f"the rollout of version {plan.spec.version} (revision {deployed.revision}) failed: "
    what += "; ".join(failed)
    events.append(Event("Warning", ROLLOUT_FAILED, what))
    target = rollback_target(inventory.history, deployed, runtime.rolled_out.get(plan.uid))
    if target is None:
        after = "no earlier revision to roll back to"
    else:
        ns = plan.store.namespace
        rolled, error = await runtime.helm.rollback(plan.release, ns, target.revision)
        ctx.release_changed()
        if rolled:
            after = f"rolled back to revision {target.revision}"
            if ctx.version is not None:
                after += f" (version {ctx.version} keeps running)"
            events.append(Event("Warning", "RolledBack", after))
        else:
            after = f"rollback to revision {target.revision} failed too: {_tail(error)}"
    message = (
        f"{what}; {after}. It is retried in {runtime.failed_upgrade_backoff:.0f}s "
        "or when the spec changes"
    )
    runtime.failed_upgrades[plan.uid] = FailedUpgrade(
        stamp, time.monotonic(), message, ROLLOUT_FAILED
    )
    return StepResult.failed(ROLLOUT_FAILED, message, events, after=runtime.failed_upgrade_backoff)


def _rollout(ctx: PassContext, inventory: Inventory, events: list[Event]) -> StepResult:
    plan = ctx.plan
    services: dict[str, ServiceStatus] = {}
    waiting: list[str] = []
    for service in plan.spec.services.enabled():
        name = component_name(plan.store, service)
        deployment = inventory.deployments.get(name)
        if deployment is None:
            waiting.append(f"{service} (no Deployment {name} yet)")
            continue
        state = deployment_state(deployment)
        services[service] = ServiceStatus(
            desired_replicas=state.desired, ready_replicas=state.ready
        )
        if not state.rolled_out:
            waiting.append(f"{service} ({state.ready}/{state.desired} ready)")
    if plan.spec.gateway.enabled:
        # The store's one address: not Ready until its gateway serves.
        name = gateway_name(plan.store)
        deployment = inventory.deployments.get(name)
        if deployment is None:
            waiting.append(f"the gateway (no Deployment {name} yet)")
        else:
            state = deployment_state(deployment)
            if not state.rolled_out:
                waiting.append(f"the gateway ({state.ready}/{state.desired} ready)")
    ctx.services = services
    deployed = inventory.deployed
    revision = deployed.revision if deployed else None
    if waiting:
        return StepResult.waiting(
            ROLLING_OUT, f"revision {revision}: waiting for {', '.join(waiting)}", events
        )
    ctx.version = plan.spec.version
    if deployed is not None:
        ctx.runtime.rolled_out[plan.uid] = deployed.revision
    return StepResult.ready(
        "ServicesAvailable",
        f"{len(services)} services available (release {plan.release}, revision {revision})",
        events,
    )
