"""The release's objects, taken once per pass and shared by the steps.

One ``helm history``, the deployed revision's manifest (cached: a revision
never changes) and one list call per kind it renders, Deployments always
included. From these: what is missing, what drifted (hash of the rendered
object against the hash of the same fields live), how far the Deployments
have rolled out. A step that changes the release (an upgrade, a rollback)
drops the pass's inventory; the next step to ask takes a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from productstore_operator.io import Revision
from productstore_operator.io.helm import PENDING
from productstore_operator.reconcile.drift import first_difference, live_hash
from productstore_operator.reconcile.manifest import ObjectRef, RenderedObject, parse_manifest
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import Runtime

RELEASE_LABEL = "app.kubernetes.io/instance"
DEPLOYMENTS = ("apps", "v1", "deployments")
# The Deployment controller's verdict on a rollout that made no progress in time.
PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"

Resource = tuple[str, str, str, str]

# Characters of a container's waiting message kept in a condition.
MESSAGE_CHARS = 160


@dataclass(frozen=True)
class DeploymentState:
    """One service's Deployment: replica counts, whether its rollout is complete,
    and whether Kubernetes gave it up (no progress within progressDeadlineSeconds)."""

    desired: int
    ready: int
    rolled_out: bool
    failed: bool = False


@dataclass(frozen=True)
class Drift:
    """A rendered object the cluster does not hold as rendered."""

    item: RenderedObject
    # None: the object is missing; else the first field that differs.
    field: str | None = None
    # The hash of the live object's rendered fields (None: missing).
    live_hash: str | None = None

    @property
    def ref(self) -> ObjectRef:
        """Which object."""
        return self.item.ref

    @property
    def signature(self) -> tuple[ObjectRef, str, str | None]:
        """The object, its rendering and its live state: equal while nothing changes."""
        return (self.item.ref, self.item.hash, self.live_hash)

    def __str__(self) -> str:
        return str(self.ref) if self.field is None else f"{self.ref} {self.field}"


@dataclass(frozen=True)
class Inventory:
    """The release as helm and the cluster hold it at one moment of a pass."""

    history: tuple[Revision, ...]
    # The objects the deployed revision rendered ([] before the first install).
    rendered: tuple[RenderedObject, ...]
    # (group, version, plural, namespace) -> name -> live object of the release.
    live: dict[Resource, dict[str, dict[str, Any]]]
    namespace: str

    @property
    def deployed(self) -> Revision | None:
        """The revision helm last deployed, if any."""
        return deployed_revision(self.history)

    @property
    def pending(self) -> Revision | None:
        """The latest revision, while a helm (running or dead) left it pending."""
        if self.history and self.history[-1].status in PENDING:
            return self.history[-1]
        return None

    def find(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object of ``ref``, None if the cluster does not hold it."""
        return self.live.get(ref.resource, {}).get(ref.name)

    def drift(self, rendered: tuple[RenderedObject, ...] | None = None) -> list[Drift]:
        """The objects of ``rendered`` (default: all) missing or changed in the cluster."""
        found: list[Drift] = []
        for item in self.rendered if rendered is None else rendered:
            live = self.find(item.ref)
            if live is None:
                found.append(Drift(item))
            elif (observed := live_hash(live, item.body)) != item.hash:
                found.append(Drift(item, first_difference(live, item.body), observed))
        return found

    @property
    def deployments(self) -> dict[str, dict[str, Any]]:
        """The release's live Deployments by name."""
        return self.live.get((*DEPLOYMENTS, self.namespace), {})


def deployed_revision(history: Sequence[Revision]) -> Revision | None:
    """The newest revision of ``history`` with status deployed."""
    return next((r for r in reversed(history) if r.status == "deployed"), None)


async def take_inventory(plan: Plan, runtime: Runtime) -> Inventory:
    """Read the release's history, its deployed manifest and its live objects."""
    ns = plan.store.namespace
    history = tuple(await runtime.helm.history(plan.release, ns))
    deployed = deployed_revision(history)
    rendered = (
        tuple(await _rendered(plan, runtime, deployed.revision)) if deployed is not None else ()
    )
    kinds = {item.ref.resource for item in rendered} | {(*DEPLOYMENTS, ns)}
    return Inventory(
        history=history,
        rendered=rendered,
        live=await _live(plan, runtime, kinds),
        namespace=ns,
    )


async def _rendered(plan: Plan, runtime: Runtime, revision: int) -> list[RenderedObject]:
    key = (plan.store.namespace, plan.release, revision)
    if key not in runtime.manifests:
        text = await runtime.helm.manifest(plan.release, plan.store.namespace, revision)
        # Only the deployed revision is ever asked for again: forget the others.
        for stale in [k for k in runtime.manifests if k[:2] == key[:2]]:
            del runtime.manifests[stale]
        runtime.manifests[key] = parse_manifest(text, plan.store.namespace)
    return runtime.manifests[key]


async def _live(
    plan: Plan, runtime: Runtime, kinds: set[Resource]
) -> dict[Resource, dict[str, dict[str, Any]]]:
    selector = f"{RELEASE_LABEL}={plan.release}"
    found: dict[Resource, dict[str, dict[str, Any]]] = {}
    for group, version, plural, namespace in sorted(kinds):
        items = await runtime.kube.list(group, version, plural, namespace, selector)
        found[(group, version, plural, namespace)] = {
            item["metadata"]["name"]: item
            for item in items
            if not item["metadata"].get("deletionTimestamp")
        }
    return found


def deployment_state(deployment: dict[str, Any]) -> DeploymentState:
    """Replica counts, and whether every desired replica runs the current template."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0) >= int(
        deployment["metadata"].get("generation") or 0
    )
    rolled_out = (
        observed
        and int(status.get("updatedReplicas") or 0) >= desired
        and int(status.get("availableReplicas") or 0) >= desired
        and ready >= desired
        and int(status.get("replicas") or 0) == desired
    )
    # Progressing=False is the controller's own signal (it only ever sets it for
    # ProgressDeadlineExceeded); only trusted once it has seen the current template.
    failed = observed and any(
        condition.get("type") == "Progressing"
        and condition.get("status") == "False"
        and condition.get("reason") == PROGRESS_DEADLINE_EXCEEDED
        for condition in status.get("conditions") or []
    )
    return DeploymentState(
        desired=desired, ready=ready, rolled_out=rolled_out and not failed, failed=failed
    )


def pod_trouble(pod: dict[str, Any]) -> str | None:
    """Why a Pod is not ready, from its status: the scheduler's reason when no node
    takes it, a container's waiting reason (ErrImageNeverPull, ImagePullBackOff,
    CrashLoopBackOff) with its message, else the last termination; None for a ready
    Pod."""
    status = pod.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    if ready:
        return None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            # No node takes it (a nodeSelector no node matches, too little CPU):
            # the scheduler's message says which.
            message = " ".join(str(condition.get("message") or "").split())
            reason = condition.get("reason") or "Unschedulable"
            return f"{reason}: {message[:MESSAGE_CHARS]}" if message else str(reason)
    containers = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason and reason not in ("PodInitializing", "ContainerCreating"):
            message = " ".join(str(waiting.get("message") or "").split())
            detail = f": {message[:MESSAGE_CHARS]}" if message else ""
            return f"container {container.get('name')} {reason}{detail}"
    for container in containers:
        last = (container.get("lastState") or {}).get("terminated") or {}
        if last.get("reason"):
            return (
                f"container {container.get('name')} last exited "
                f"{last['reason']} (exit code {last.get('exitCode')})"
            )
    for container in containers:
        if not container.get("ready") and "running" in (container.get("state") or {}):
            return f"container {container.get('name')} runs but is not ready (readiness probe)"
    return str(status.get("reason") or status.get("phase") or "not ready")
