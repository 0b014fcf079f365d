"""Which drift helm's upgrade repairs, and which the release step restores itself."""

from __future__ import annotations

import pytest

from productstore_operator.reconcile.inventory import Drift
from productstore_operator.reconcile.manifest import ObjectRef, RenderedObject
from productstore_operator.reconcile.release_step import helm_repairs


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
