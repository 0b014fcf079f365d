"""Step MeshConfigured: the Istio objects the chart rendered are in the cluster, as rendered.

The chart owns them (PeerAuthentication, AuthorizationPolicies,
DestinationRules, VirtualServices); this step only checks them, in the
pass's inventory. A missing or edited one was already repaired by the
release step; one still off after that is reported here.
"""

from __future__ import annotations

from typing import Final

from productstore_operator.io import TransientError
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import POLL_SECONDS, StepResult

ISTIO_GROUP_SUFFIX = "istio.io"
# The step waits (no error) until the release step has deployed a revision.
NOT_DEPLOYED: Final = "ReleaseNotDeployed"


async def check_mesh(ctx: PassContext) -> StepResult:
    """True when Istio is off, or every Istio object of the deployed revision is in place."""
    plan = ctx.plan
    if not plan.spec.istio.enabled:
        return StepResult.ready(
            "IstioDisabled", "spec.istio.enabled is false: the store has no Istio objects"
        )
    try:
        inventory = await ctx.inventory()
    except TransientError as exc:
        return StepResult.failed("KubernetesError", str(exc))
    if inventory.deployed is None:
        return StepResult.waiting(NOT_DEPLOYED, "no deployed release yet", status="Unknown")
    objects = tuple(
        item for item in inventory.rendered if item.ref.group.endswith(ISTIO_GROUP_SUFFIX)
    )
    drift = inventory.drift(objects)
    missing = [str(d.ref) for d in drift if d.field is None]
    if missing:
        return StepResult.failed(
            "IstioObjectsMissing",
            f"missing {', '.join(missing)}; the next pass re-applies the release",
            after=POLL_SECONDS,
        )
    if drift:
        # The release step restores edits; one left here survived that.
        return StepResult.failed(
            "IstioObjectsChanged",
            f"{', '.join(str(d) for d in drift)} differ from the release after a repair "
            "(see the DriftNotRepaired event)",
            after=POLL_SECONDS,
        )
    kinds = sorted({item.ref.kind for item in objects})
    return StepResult.ready(
        "IstioObjectsApplied",
        f"{len(objects)} Istio objects in place ({', '.join(kinds)}), mTLS "
        f"{plan.spec.istio.mtls_mode}",
    )
