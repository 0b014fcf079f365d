"""The release's children as the cluster holds them: what is missing, what drifted,
how ready the Deployments are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from productstore_operator.builders.naming import component_name
from productstore_operator.reconcile.manifest import ObjectRef, parse_manifest
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import Runtime

RELEASE_LABEL = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class DeploymentState:
    """One service's Deployment: replica counts and whether its rollout is complete."""

    desired: int
    ready: int
    rolled_out: bool


async def release_objects(plan: Plan, runtime: Runtime, revision: int) -> list[ObjectRef]:
    """The objects ``revision`` rendered (cached: a revision never changes)."""
    key = (plan.store.namespace, plan.release, revision)
    if key not in runtime.manifests:
        text = await runtime.helm.manifest(plan.release, plan.store.namespace, revision)
        # Only the deployed revision is ever asked for again: forget the others.
        for stale in [k for k in runtime.manifests if k[:2] == key[:2]]:
            del runtime.manifests[stale]
        runtime.manifests[key] = parse_manifest(text, plan.store.namespace)
    return runtime.manifests[key]


async def live_objects(
    plan: Plan, runtime: Runtime, kinds: set[tuple[str, str, str, str]]
) -> dict[tuple[str, str, str, str], dict[str, dict[str, Any]]]:
    """(group, version, plural, namespace) -> name -> the live object, for the release."""
    selector = f"{RELEASE_LABEL}={plan.release}"
    found: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for group, version, plural, namespace in sorted(kinds):
        items = await runtime.kube.list(group, version, plural, namespace, selector)
        found[(group, version, plural, namespace)] = {
            item["metadata"]["name"]: item
            for item in items
            if not item["metadata"].get("deletionTimestamp")
        }
    return found


async def missing_objects(plan: Plan, runtime: Runtime, objects: list[ObjectRef]) -> list[str]:
    """``Kind/name`` of every rendered object the cluster does not hold (deleted by hand)."""
    by_kind: dict[tuple[str, str, str, str], list[ObjectRef]] = defaultdict(list)
    for ref in objects:
        by_kind[(ref.group, ref.version, ref.plural, ref.namespace)].append(ref)
    live = await live_objects(plan, runtime, set(by_kind))
    return [
        f"{ref.kind}/{ref.name}"
        for key, refs in by_kind.items()
        for ref in refs
        if ref.name not in live[key]
    ]


def edited_deployments(plan: Plan, deployments: dict[str, dict[str, Any]]) -> list[str]:
    """Deployments whose replica count or image someone changed behind helm's back."""
    edited: list[str] = []
    for service in plan.spec.services.enabled():
        deployment = deployments.get(component_name(plan.store, service))
        if deployment is None:
            continue
        spec = deployment.get("spec") or {}
        settings = plan.spec.services.get(service)
        # With autoscaling the HPA owns the count.
        if not settings.autoscaling.enabled and spec.get("replicas") != settings.replicas:
            edited.append(f"Deployment/{deployment['metadata']['name']} replicas")
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        if containers and not str(containers[0].get("image", "")).endswith(f":{plan.spec.version}"):
            edited.append(f"Deployment/{deployment['metadata']['name']} image")
    return edited


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
    return DeploymentState(desired=desired, ready=ready, rolled_out=rolled_out)
