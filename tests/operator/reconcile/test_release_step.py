"""Which drift helm's upgrade repairs, and which the release step restores itself;
which revision a failed rollout goes back to."""

from __future__ import annotations

import pytest

from productstore_operator.io import Revision
from productstore_operator.reconcile.inventory import Drift
from productstore_operator.reconcile.manifest import ObjectRef, RenderedObject
from productstore_operator.reconcile.release_step import helm_repairs, rollback_target


@pytest.mark.parametrize(
    ("group", "kind", "field", "by_helm"),
    [
        # Missing: helm creates it, whatever its kind.
        ("security.istio.io", "AuthorizationPolicy", None, True),
        ("", "ConfigMap", None, True),
        # Edited built-in kinds: helm's three-way strategic merge restores them.
        ("", "Service", "spec.ports[0].targetPort", True),
        ("apps", "Deployment", "spec.replicas", True),
        ("policy", "PodDisruptionBudget", "spec.minAvailable", True),
        ("networking.k8s.io", "NetworkPolicy", "spec.ingress", True),
        # Edited custom resources: helm patches only what changed between manifests.
        ("security.istio.io", "AuthorizationPolicy", "spec.rules", False),
        ("networking.istio.io", "VirtualService", "spec.http[0].timeout", False),
        ("monitoring.coreos.com", "ServiceMonitor", "spec.endpoints", False),
    ],
)
def test_helm_repairs_missing_objects_and_built_in_kinds(
    group: str, kind: str, field: str | None, by_helm: bool
) -> None:
    ref = ObjectRef(group, "v1", kind, "ns", "shop-catalog")
    drift = Drift(RenderedObject(ref, {}, "h"), field, None if field is None else "l")
    assert helm_repairs(drift) is by_helm


def _history(*statuses: str) -> tuple[Revision, ...]:
    return tuple(
        Revision(number, status, "productstore-0.1.0", "productstore.io/hash=h", None)
        for number, status in enumerate(statuses, start=1)
    )


@pytest.mark.parametrize(
    ("statuses", "rolled_out", "target"),
    [
        # The revision seen rolled out, not merely the one before.
        (("superseded", "superseded", "superseded", "deployed"), 2, 2),
        # After a restart the operator knows none: the revision before the failed one.
        (("superseded", "superseded", "deployed"), None, 2),
        # A rolled-out revision helm no longer keeps: the one before.
        (("superseded", "superseded", "deployed"), 7, 2),
        # Failed upgrades never ran: skipped.
        (("superseded", "failed", "deployed"), None, 1),
        # A first install has nothing to go back to.
        (("deployed",), None, None),
    ],
    ids=["known", "restarted", "forgotten", "skips-failed", "first-install"],
)
def test_rollback_target(
    statuses: tuple[str, ...], rolled_out: int | None, target: int | None
) -> None:
    history = _history(*statuses)
    found = rollback_target(history, history[-1], rolled_out)
    assert (found.revision if found else None) == target
