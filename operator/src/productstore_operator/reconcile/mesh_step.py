"""Step 4, MeshConfigured: the Istio objects the chart rendered are in the cluster.

The chart owns them (PeerAuthentication, AuthorizationPolicies,
DestinationRules, VirtualServices); the operator only checks they exist. A
missing one was already put back by the release step's drift repair.
"""

from __future__ import annotations

from productstore_operator.io import TransientError
from productstore_operator.models.status import MESH_CONFIGURED
from productstore_operator.reconcile.children import missing_objects, release_objects
from productstore_operator.reconcile.outcome import POLL_SECONDS, RETRY_SECONDS, StepResult
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import Runtime

ISTIO_GROUP_SUFFIX = "istio.io"


async def check_mesh(plan: Plan, runtime: Runtime, revision: int | None) -> StepResult:
    """True when Istio is off, or every Istio object of the deployed revision exists."""
    if not plan.spec.istio.enabled:
        return StepResult(
            MESH_CONFIGURED, "True", "IstioDisabled",
            "spec.istio.enabled is false: the store has no Istio objects", done=True,
        )  # fmt: skip
    if revision is None:
        return StepResult(
            MESH_CONFIGURED, "Unknown", "ReleaseNotDeployed",
            "no deployed release yet", done=False, retry_after=POLL_SECONDS,
        )  # fmt: skip
    try:
        objects = [
            ref
            for ref in await release_objects(plan, runtime, revision)
            if ref.group.endswith(ISTIO_GROUP_SUFFIX)
        ]
        missing = await missing_objects(plan, runtime, objects)
    except TransientError as exc:
        return StepResult(
            MESH_CONFIGURED, "False", "KubernetesError", str(exc), done=False,
            retry_after=RETRY_SECONDS,
        )  # fmt: skip
    if missing:
        return StepResult(
            MESH_CONFIGURED,
            "False",
            "IstioObjectsMissing",
            f"missing {', '.join(missing)}; the next pass re-applies the release",
            done=False,
            retry_after=POLL_SECONDS,
        )
    kinds = sorted({ref.kind for ref in objects})
    return StepResult(
        MESH_CONFIGURED,
        "True",
        "IstioObjectsApplied",
        f"{len(objects)} Istio objects in place ({', '.join(kinds)}), mTLS "
        f"{plan.spec.istio.mtls_mode}",
        done=True,
    )
