"""parse_manifest: the objects helm rendered, by group, kind and resource name."""

from __future__ import annotations

import pytest

from productstore_operator.reconcile.manifest import ObjectRef, parse_manifest

MANIFEST = """
---
# Source: productstore/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop-auth
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-auth
  namespace: other
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: shop-auth
---
"""


def test_objects_with_their_groups_and_namespaces() -> None:
    assert [o.ref for o in parse_manifest(MANIFEST, "ns")] == [
        ObjectRef("", "v1", "ServiceAccount", "ns", "shop-auth"),
        ObjectRef("apps", "v1", "Deployment", "other", "shop-auth"),
        ObjectRef("security.istio.io", "v1", "AuthorizationPolicy", "ns", "shop-auth"),
    ]


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("Deployment", "deployments"),
        ("ConfigMap", "configmaps"),
        ("Ingress", "ingresses"),
        ("NetworkPolicy", "networkpolicies"),
        ("HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        ("PodDisruptionBudget", "poddisruptionbudgets"),
        ("AuthorizationPolicy", "authorizationpolicies"),
        ("PeerAuthentication", "peerauthentications"),
        ("DestinationRule", "destinationrules"),
        ("VirtualService", "virtualservices"),
        ("Service", "services"),
    ],
)
def test_plural_of_every_kind_the_chart_renders(kind: str, plural: str) -> None:
    assert ObjectRef("g", "v1", kind, "ns", "x").plural == plural
