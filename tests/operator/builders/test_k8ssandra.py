"""build_k8ssandra_cluster: a table of specs, and the apiserver's verdict on
one body against the real K8ssandraCluster CRD."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client

from productstore_operator.builders import (
    SPEC_HASH_ANNOTATION,
    InvalidSpecError,
    OperatorSettings,
    StoreRef,
    build_k8ssandra_cluster,
    spec_hash,
    stamped,
)
from productstore_operator.builders.k8ssandra import PLURAL
from tests.operator.builders.support import SETTINGS, sample, spec

SHOP = StoreRef("shop", "shop-ns")


def build(changes: dict[str, Any], settings: OperatorSettings = SETTINGS) -> dict[str, Any]:
    return build_k8ssandra_cluster(spec(changes), SHOP, settings)


def datacenter(body: dict[str, Any]) -> dict[str, Any]:
    datacenters = body["spec"]["cassandra"]["datacenters"]
    assert len(datacenters) == 1
    dc: dict[str, Any] = datacenters[0]
    return dc


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            {
                "metadata": {"name": "dc1"},
                "size": 3,
                "storageConfig": {
                    "cassandraDataVolumeClaimSpec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}},
                    }
                },
            },
        ),
        (
            {
                "cassandra.k8ssandra": {
                    "datacenter": {"name": "west", "size": 5},
                    "storageClassName": "fast-ssd",
                    "storageSize": "200Gi",
                }
            },
            {
                "metadata": {"name": "west"},
                "size": 5,
                "storageConfig": {
                    "cassandraDataVolumeClaimSpec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "200Gi"}},
                        "storageClassName": "fast-ssd",
                    }
                },
            },
        ),
    ],
    ids=["defaults", "every-field"],
)
def test_datacenter(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    assert datacenter(build(changes)) == expected


@pytest.mark.parametrize(
    ("changes", "path", "expected"),
    [
        ({}, ("apiVersion",), "k8ssandra.io/v1alpha1"),
        ({}, ("kind",), "K8ssandraCluster"),
        ({}, ("metadata", "name"), "shop"),
        ({}, ("metadata", "namespace"), "shop-ns"),
        ({}, ("metadata", "labels", "app.kubernetes.io/instance"), "shop"),
        ({}, ("metadata", "labels", "app.kubernetes.io/component"), "cassandra"),
        ({}, ("spec", "cassandra", "serverVersion"), "5.0.9"),
        (
            {"cassandra.k8ssandra.serverVersion": "4.1.7"},
            ("spec", "cassandra", "serverVersion"),
            "4.1.7",
        ),
        (
            {},
            ("spec", "cassandra", "resources"),
            {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "4Gi"}},
        ),
    ],
)
def test_field(changes: dict[str, Any], path: tuple[str, ...], expected: Any) -> None:
    node: Any = build(changes)
    for key in path:
        node = node[key]
    assert node == expected


def test_paxos_v2_is_asked_for_in_cassandra_yaml() -> None:
    # Reservations are all LWTs; v2 halves their round trips (docs/adr on reservations).
    assert build({})["spec"]["cassandra"]["config"] == {"cassandraYaml": {"paxos_variant": "v2"}}


def test_resources_come_from_settings() -> None:
    resources = {"requests": {"cpu": "500m", "memory": "2Gi"}}
    body = build({}, OperatorSettings(cassandra_resources=resources))
    assert body["spec"]["cassandra"]["resources"] == resources


def test_external_cassandra_has_no_cluster() -> None:
    external, store = sample("productstore-devstack")
    with pytest.raises(InvalidSpecError, match=r"cassandra\.mode is external"):
        build_k8ssandra_cluster(external, store, SETTINGS)


def test_spec_hash_is_of_the_body_without_the_hash() -> None:
    body = build({})
    annotations = body["metadata"]["annotations"]
    unstamped = {**body, "metadata": {**body["metadata"], "annotations": {}}}
    assert annotations[SPEC_HASH_ANNOTATION] == spec_hash(unstamped)
    # Stamping again changes nothing: a live object's hash compares as is.
    assert stamped(body) == body


@pytest.mark.parametrize(
    "changes",
    [
        {"cassandra.k8ssandra.datacenter.size": 4},
        {"cassandra.k8ssandra.storageSize": "11Gi"},
        {"cassandra.k8ssandra.storageClassName": "slow"},
        {"cassandra.k8ssandra.serverVersion": "5.0.8"},
    ],
    ids=["size", "storage", "storage-class", "version"],
)
def test_any_change_changes_the_hash(changes: dict[str, Any]) -> None:
    before = build({})["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    after = build(changes)["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    assert before != after


def test_unrelated_spec_fields_leave_the_hash_alone() -> None:
    before = build({})["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    after = build({"services.catalog.replicas": 9, "istio.enabled": False})
    assert after["metadata"]["annotations"][SPEC_HASH_ANNOTATION] == before


def test_deterministic() -> None:
    assert json.dumps(build({})) == json.dumps(build({}))


def test_apiserver_accepts_the_body(kube_api: client.ApiClient) -> None:
    full, _ = sample("productstore-full")
    # "default" exists in every cluster, and a dry run leaves nothing behind.
    body = build_k8ssandra_cluster(full, StoreRef("shop", "default"), SETTINGS)
    created = client.CustomObjectsApi(kube_api).create_namespaced_custom_object(
        "k8ssandra.io",
        "v1alpha1",
        "default",
        PLURAL,
        body,
        dry_run="All",
        field_validation="Strict",
    )
    # Nothing was pruned: every field we set is one the CRD knows.
    assert (
        created["spec"]["cassandra"]["datacenters"][0]["storageConfig"]
        == datacenter(body)["storageConfig"]
    )
    assert created["metadata"]["annotations"] == body["metadata"]["annotations"]
