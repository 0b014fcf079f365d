"""Labels and the spec hash."""

from __future__ import annotations

from typing import Any

import pytest

from productstore_operator.builders import SPEC_HASH_ANNOTATION, StoreRef, spec_hash, stamped
from productstore_operator.builders.meta import canonical_json, labels


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({"x": {"c": [1, 2], "d": "é"}}, {"x": {"d": "é", "c": [1, 2]}}),
    ],
)
def test_key_order_does_not_change_the_hash(one: Any, other: Any) -> None:
    assert canonical_json(one) == canonical_json(other)
    assert spec_hash(one) == spec_hash(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1}, {"a": "1"}),
        ({"a": [1, 2]}, {"a": [2, 1]}),
        ({"a": None}, {}),
    ],
)
def test_different_documents_hash_differently(one: Any, other: Any) -> None:
    assert spec_hash(one) != spec_hash(other)


def test_hash_is_stable_across_releases() -> None:
    # A changed spelling would make every live object look drifted after an upgrade.
    assert canonical_json({"b": [1, "é"], "a": None}) == '{"a":null,"b":[1,"é"]}'
    assert spec_hash({}) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_stamped_keeps_other_annotations_and_replaces_a_stale_hash() -> None:
    body = {"metadata": {"name": "x", "annotations": {"keep": "me", SPEC_HASH_ANNOTATION: "stale"}}}
    result = stamped(body)
    assert result["metadata"]["annotations"]["keep"] == "me"
    assert result["metadata"]["annotations"][SPEC_HASH_ANNOTATION] != "stale"
    assert stamped(result) == result


def test_labels() -> None:
    assert labels(StoreRef("shop", "ns"), "cassandra") == {
        "app.kubernetes.io/name": "productstore",
        "app.kubernetes.io/instance": "shop",
        "app.kubernetes.io/component": "cassandra",
        "app.kubernetes.io/part-of": "productstore",
        "app.kubernetes.io/managed-by": "productstore-operator",
    }
