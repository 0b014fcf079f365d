"""kopf's side: the decorators, kept thin. Every change, resume and timer tick runs
the same reconcile (the table of steps); its Outcome becomes a status patch,
events, metrics, and a TemporaryError (come back later) or PermanentError (fix
the spec).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import kopf

from productstore_operator.metrics import Metrics
from productstore_operator.models import GROUP, PLURAL, VERSION
from productstore_operator.reconcile import (
    STEPS,
    Outcome,
    Runtime,
    TransientError,
    finalize,
    reconcile,
)
from productstore_operator.reconcile.outcome import RETRY_SECONDS

# kopf keeps its progress and last-handled spec in annotations under this prefix:
# the status schema is structural, so anything kopf wrote to status would be pruned.
ANNOTATION_PREFIX: Final = "productstore.io"
FINALIZER: Final = "productstore.io/finalizer"
# Worker threads for hvac and the Kubernetes client: many stores reconcile at once.
THREADS: Final = 32
_HELM_EVENTS: Final = {
    "Upgraded": ("upgrade", "success"),
    "UpgradeFailed": ("upgrade", "failure"),
    "RolledBack": ("rollback", "success"),
}


def configure(settings: kopf.OperatorSettings) -> None:
    """kopf's settings: progress in annotations, our finalizer, no retry limit."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.WARNING  # events come from Outcome, not log lines


def _status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch from ``old`` to ``new`` status: services gone from the map become null."""
    patch = dict(new)
    services: dict[str, Any] = {name: None for name in old.get("services") or {}}
    services.update(new.get("services") or {})
    patch["services"] = services
    return patch


def register(registry: kopf.OperatorRegistry, runtime: Runtime, metrics: Metrics) -> None:
    """Attach the operator's handlers to ``registry``."""
    resource = (GROUP, VERSION, PLURAL)
    metrics.declare_steps(step.metric for step in STEPS)

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="startup", registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings)
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(THREADS, thread_name_prefix="productstore-io")
        )

    @kopf.on.cleanup(id="cleanup", registry=registry)
    def cleanup(**_: Any) -> None:
        runtime.kube.close()

    async def run_pass(body: kopf.Body, patch: kopf.Patch) -> Outcome:
        started = time.monotonic()
        outcome = await reconcile(body, runtime)
        metrics.duration.observe(time.monotonic() - started)
        metrics.reconciles.labels(result=outcome.result).inc()
        for step, seconds in outcome.step_seconds.items():
            metrics.step_duration.labels(step=step).observe(seconds)
        if outcome.failed_step is not None:
            metrics.errors.labels(step=outcome.failed_step).inc()
        metrics.set_phase(body.metadata.uid or "", outcome.status.get("phase"))
        patch["status"] = _status_patch(body.get("status") or {}, outcome.status)
        for event in outcome.events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
            if event.reason in _HELM_EVENTS:
                operation, result = _HELM_EVENTS[event.reason]
                metrics.helm.labels(operation=operation, result=result).inc()
        return outcome

    @kopf.on.resume(*resource, id="reconcile", registry=registry)
    @kopf.on.create(*resource, id="reconcile", registry=registry)
    @kopf.on.update(*resource, id="reconcile", field="spec", registry=registry)
    async def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        outcome = await run_pass(body, patch)
        if outcome.invalid is not None:
            raise kopf.PermanentError(f"invalid spec: {outcome.invalid}")
        if outcome.retry_after is not None:
            raise kopf.TemporaryError("not converged yet", delay=outcome.retry_after)

    # Drift repair and slow convergence: every store, every resync interval.
    @kopf.timer(
        *resource,
        id="resync",
        interval=runtime.config.resync_seconds,
        initial_delay=runtime.config.resync_seconds,
        registry=registry,
    )
    async def resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        await run_pass(body, patch)

    @kopf.on.delete(*resource, id="finalize", registry=registry)
    async def deleted(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        patch["status"] = {"phase": "Deleting"}
        try:
            events = await finalize(body, runtime)
        except TransientError as exc:
            kopf.event(body, type="Warning", reason="DeleteBlocked", message=str(exc))
            raise kopf.TemporaryError(str(exc), delay=RETRY_SECONDS) from exc
        for event in events:
            kopf.event(body, type=event.type, reason=event.reason, message=event.message)
        metrics.set_phase(body.metadata.uid or "", None)
