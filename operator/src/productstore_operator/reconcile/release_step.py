"""Step 3, ServicesReady: the store's Helm release, then its Deployments' rollout.

The release is upgraded only when the hash of (values, chart) differs from the
one stamped into the deployed revision, or when a rendered child is missing or
was edited: a timer pass over a converged store runs no helm upgrade and adds no
revision. A failed upgrade is rolled back to the last deployed revision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from productstore_operator.builders.meta import spec_hash
from productstore_operator.builders.naming import component_name
from productstore_operator.io import Revision, TransientError
from productstore_operator.io.helm import PENDING
from productstore_operator.models.status import SERVICES_READY
from productstore_operator.reconcile.children import (
    deployment_state,
    edited_deployments,
    live_objects,
    missing_objects,
    release_objects,
)
from productstore_operator.reconcile.outcome import POLL_SECONDS, RETRY_SECONDS, Event, StepResult
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import FailedUpgrade, Runtime

DEPLOYMENTS = ("apps", "v1", "deployments")
# Lines of helm's error output kept in a condition message.
ERROR_LINES = 5


@dataclass
class ReleaseReport:
    """The step's result plus what the status needs from it."""

    result: StepResult
    # service -> {"desiredReplicas", "readyReplicas"}
    services: dict[str, dict[str, int]] = field(default_factory=dict)
    revision: int | None = None


def release_stamp(plan: Plan, runtime: Runtime) -> str:
    """What the deployed revision must carry for the release to be up to date."""
    return spec_hash({"values": plan.values, "chart": runtime.helm.digest})


def _deployed(history: list[Revision]) -> Revision | None:
    return next((r for r in reversed(history) if r.status == "deployed"), None)


def _tail(text: str) -> str:
    return " ".join(text.strip().splitlines()[-ERROR_LINES:]) or "no output"


def _failed(reason: str, message: str, retry: float, *events: Event) -> ReleaseReport:
    return ReleaseReport(
        StepResult(SERVICES_READY, "False", reason, message, False, retry, tuple(events))
    )


async def _clear_stale_pending(
    plan: Plan, runtime: Runtime, history: list[Revision]
) -> tuple[list[Revision], Event | None] | None:
    """A pending release left by a helm that died: roll it back (or uninstall a
    first install). None while it may still be running."""
    latest = history[-1]
    if latest.updated is not None:
        age = (datetime.now(UTC) - latest.updated).total_seconds()
        if age < runtime.stale_pending_seconds:
            return None
    good = _deployed(history[:-1]) or next(
        (r for r in reversed(history[:-1]) if r.status == "superseded"), None
    )
    ns = plan.store.namespace
    if good is not None:
        await runtime.helm.rollback(plan.release, ns, good.revision)
        what = f"rolled back to revision {good.revision}"
    else:
        await runtime.helm.uninstall(plan.release, ns)
        what = "uninstalled the unfinished first install"
    event = Event(
        "Warning", "ReleaseRepaired", f"revision {latest.revision} was left {latest.status}: {what}"
    )
    return await runtime.helm.history(plan.release, ns), event


async def _upgrade(
    plan: Plan, runtime: Runtime, stamp: str, reason: str, previous: Revision | None
) -> tuple[Revision | None, list[Event], ReleaseReport | None]:
    """Run the upgrade; on failure roll back and return the report to give."""
    ns = plan.store.namespace
    ok, error = await runtime.helm.upgrade(plan.release, ns, plan.values, stamp)
    history = await runtime.helm.history(plan.release, ns)
    if ok:
        runtime.failed_upgrades.pop(plan.uid, None)
        current = _deployed(history)
        verb = "installed" if previous is None else "upgraded"
        number = current.revision if current else "?"
        message = f"{verb} release {plan.release} (revision {number}): {reason}"
        return current, [Event("Normal", "Upgraded", message)], None
    events = [Event("Warning", "UpgradeFailed", f"helm upgrade failed: {_tail(error)}")]
    good = _deployed(history)
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
    return None, events, _failed("UpgradeFailed", message, runtime.failed_upgrade_backoff, *events)


async def ensure_release(plan: Plan, runtime: Runtime) -> ReleaseReport:
    """Install or upgrade the release when needed, then report the rollout."""
    ns = plan.store.namespace
    events: list[Event] = []
    try:
        history = await runtime.helm.history(plan.release, ns)
        if history and history[-1].status in PENDING:
            cleared = await _clear_stale_pending(plan, runtime, history)
            if cleared is None:
                return _failed(
                    "ReleasePending",
                    f"release {plan.release} revision {history[-1].revision} is "
                    f"{history[-1].status} (another helm is running); waiting for it",
                    POLL_SECONDS,
                )
            history, event = cleared
            if event is not None:
                events.append(event)
        stamp = release_stamp(plan, runtime)
        deployed = _deployed(history)
        drift: list[str] = []
        if deployed is not None:
            objects = await release_objects(plan, runtime, deployed.revision)
            drift = await missing_objects(plan, runtime, objects)
            live = await live_objects(plan, runtime, {(*DEPLOYMENTS, ns)})
            drift += edited_deployments(plan, live[(*DEPLOYMENTS, ns)])
        if deployed is None or deployed.stamped_hash != stamp or drift:
            failed = runtime.failed_upgrades.get(plan.uid)
            if (
                failed is not None
                and failed.stamp == stamp
                and not drift
                and time.monotonic() - failed.at < runtime.failed_upgrade_backoff
            ):
                return _failed("UpgradeFailed", failed.message, runtime.failed_upgrade_backoff)
            if deployed is None:
                reason = "first install"
            elif deployed.stamped_hash != stamp:
                reason = "the spec or the chart changed"
            else:
                reason = f"repairing {', '.join(drift)}"
            deployed, upgrade_events, report = await _upgrade(
                plan, runtime, stamp, reason, deployed
            )
            events += upgrade_events
            if report is not None:
                return report
        live = await live_objects(plan, runtime, {(*DEPLOYMENTS, ns)})
    except TransientError as exc:
        return _failed("HelmError", str(exc), RETRY_SECONDS, *events)
    return _rollout(plan, live[(*DEPLOYMENTS, ns)], deployed, events)


def _rollout(
    plan: Plan,
    deployments: dict[str, dict[str, Any]],
    deployed: Revision | None,
    events: list[Event],
) -> ReleaseReport:
    services: dict[str, dict[str, int]] = {}
    waiting: list[str] = []
    for service in plan.spec.services.enabled():
        name = component_name(plan.store, service)
        deployment = deployments.get(name)
        if deployment is None:
            waiting.append(f"{service} (no Deployment {name} yet)")
            continue
        state = deployment_state(deployment)
        services[service] = {"desiredReplicas": state.desired, "readyReplicas": state.ready}
        if not state.rolled_out:
            waiting.append(f"{service} ({state.ready}/{state.desired} ready)")
    revision = deployed.revision if deployed else None
    if waiting:
        result = StepResult(
            SERVICES_READY,
            "False",
            "RollingOut",
            f"revision {revision}: waiting for {', '.join(waiting)}",
            done=False,
            retry_after=POLL_SECONDS,
            events=tuple(events),
        )
    else:
        result = StepResult(
            SERVICES_READY,
            "True",
            "ServicesAvailable",
            f"{len(services)} services available (release {plan.release}, revision {revision})",
            done=True,
            events=tuple(events),
        )
    return ReleaseReport(result, services, revision)
