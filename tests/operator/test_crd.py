"""The ProductStore CRD: generated from the models, committed, and served by a
real apiserver (devstack's control plane) that enforces it as users meet it."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import BaseModel, Field

from devstack.components.kube import KubeApiserver
from productstore_operator import crd as crd_module
from productstore_operator.crd import SchemaError, build_crd, render_crd, structural_schema
from productstore_operator.models import (
    API_VERSION,
    CRD_NAME,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
    CassandraSpec,
    ProductStoreSpec,
    ProductStoreStatus,
)
from productstore_operator.models.base import ResourceModel
from tests.operator.spec_cases import INVALID, SAMPLES, Invalid, load_sample, spec_with

COMMITTED_CRD = Path(__file__).resolve().parents[2] / "crds" / "productstore.io_productstores.yaml"
STALE = f"{COMMITTED_CRD.name} differs from the models: run `make crds` and commit the result"
# The apiserver publishes a changed CRD's OpenAPI document a few seconds after the change.
EXPLAIN_TIMEOUT = 60.0


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _walk(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}[*]")
    if "items" in node:
        yield from _walk(node["items"], f"{path}[]")


# --- Generation (no cluster) -------------------------------------------------


def test_committed_crd_is_generated_from_the_models() -> None:
    committed = COMMITTED_CRD.read_text()
    assert yaml.safe_load(committed) == build_crd(), STALE
    assert committed == render_crd(), STALE


def test_module_prints_and_writes_the_crd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert crd_module.main([]) == 0
    assert capsys.readouterr().out == render_crd()
    output = tmp_path / "crd.yaml"
    assert crd_module.main(["--output", str(output)]) == 0
    assert output.read_text() == render_crd()
    assert [p.name for p in tmp_path.iterdir()] == ["crd.yaml"]


def test_schema_is_structural_and_described() -> None:
    for path, node in _walk(_schema(), "openAPIV3Schema"):
        assert "$ref" not in node and "title" not in node, path
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
        else:
            assert "anyOf" not in node and node.get("type") in {
                "object",
                "array",
                "string",
                "integer",
                "number",
                "boolean",
            }, path
        assert node.get("additionalProperties") is not False, path
        if path.startswith(
            ("openAPIV3Schema.spec", "openAPIV3Schema.status")
        ) and not path.endswith(("[*]", "[]")):
            assert node.get("description"), f"{path} has no description for kubectl explain"


def _model_classes(cls: type[ResourceModel]) -> Iterator[type[ResourceModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _model_classes(sub)


def test_every_model_rule_is_in_the_crd() -> None:
    in_crd = [
        (rule["rule"], rule["message"])
        for _, node in _walk(_schema(), "")
        for rule in node.get("x-kubernetes-validations", [])
    ]
    in_models = {
        (rule.rule, rule.message)
        for model in _model_classes(ResourceModel)
        if model.__module__.startswith("productstore_operator.")
        for rule, _ in model.cel_checks
    }
    assert len(in_models) >= 10
    assert in_models <= set(in_crd)


def test_nested_defaults_reach_the_crd() -> None:
    spec = _schema()["properties"]["spec"]["properties"]
    # Objects without rules default to {} and let their fields' defaults apply...
    assert spec["image"]["default"] == {}
    assert spec["image"]["properties"]["registry"]["default"] == "ghcr.io/productstore"
    # ...objects with rules are spelled out, since the apiserver checks a
    # default against its object's rules before nested defaults apply.
    autoscaling = spec["services"]["properties"]["catalog"]["properties"]["autoscaling"]
    assert autoscaling["default"] == {
        "enabled": False,
        "minReplicas": 2,
        "maxReplicas": 5,
        "targetCPUUtilizationPercentage": 70,
        "scaleDownStabilizationWindowSeconds": 300,
    }
    assert "default" not in spec["version"]
    # The operator's Vault named "default" unless the store names another.
    assert spec["vault"]["default"] == {}
    assert spec["vault"]["properties"]["name"]["default"] == "default"
    # kafka and redis too: the only mode that works (external) needs their addresses.
    assert set(_schema()["properties"]["spec"]["required"]) == {"version", "kafka", "redis"}


class _Union(BaseModel):
    value: int | bool = Field(description="a union the CRD cannot express")


class _Undescribed(BaseModel):
    value: int


class _Nested(BaseModel):
    inner: _Undescribed = Field(description="described, but its field is not")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (_Union, "_Union.value: a union of 2 types has no structural form"),
        (_Undescribed, "_Undescribed.value: every field needs a description"),
        (_Nested, "_Nested.inner.value: every field needs a description"),
    ],
)
def test_generator_refuses_what_the_crd_cannot_carry(model: type[BaseModel], message: str) -> None:
    with pytest.raises(SchemaError, match=re.escape(message)):
        structural_schema(model)


# --- Against the apiserver ---------------------------------------------------


def _store(spec: dict[str, Any], name: str = "shop") -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}


def _create(
    api: client.ApiClient, namespace: str, body: dict[str, Any], *, dry_run: bool = True
) -> Any:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        body,
        dry_run="All" if dry_run else None,
        field_validation="Strict",  # what kubectl sends by default
    )


class Kubectl:
    """kubectl against devstack, with a discovery cache of its own: a shared,
    older cache may predate the CRD's current names."""

    def __init__(self, kube: KubeApiserver, cache_dir: Path) -> None:
        self.base = [str(kube.kubectl), "--kubeconfig", str(kube.kubeconfig)]
        self.base += ["--cache-dir", str(cache_dir)]

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture
def kubectl(kube: KubeApiserver, tmp_path: Path) -> Kubectl:
    return Kubectl(kube, tmp_path / "kube-cache")


def test_crd_is_established_with_its_names(
    productstore_crd: dict[str, Any], kube_api: client.ApiClient
) -> None:
    served = client.ApiextensionsV1Api(kube_api).read_custom_resource_definition(CRD_NAME)
    conditions = {c.type: c.status for c in served.status.conditions}
    assert conditions["Established"] == conditions["NamesAccepted"] == "True"
    assert served.spec.scope == "Namespaced"
    assert served.spec.names.short_names == ["ps"]
    assert served.spec.names.categories == ["productstore-io"]
    (version,) = served.spec.versions
    assert (version.name, version.served, version.storage) == (VERSION, True, True)
    assert version.subresources.status == {}


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_is_accepted_and_defaulted_like_the_model(
    name: str, productstore_crd: dict[str, Any], kube_api: client.ApiClient, namespace: str
) -> None:
    sample = load_sample(name)
    created = _create(kube_api, namespace, sample)
    model = ProductStoreSpec.model_validate(sample["spec"])
    # The apiserver's defaults are the model's defaults, so the operator and
    # `kubectl get -o yaml` agree on every value the user did not write.
    assert ProductStoreSpec.model_validate(created["spec"]) == model
    if name != "productstore-full":  # that one writes `cpu: 1`, kept as an integer
        assert created["spec"] == model.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("case", INVALID, ids=[c.id for c in INVALID])
def test_invalid_spec_is_rejected_with_a_useful_message(
    case: Invalid, productstore_crd: dict[str, Any], kube_api: client.ApiClient, namespace: str
) -> None:
    with pytest.raises(ApiException) as excinfo:
        _create(kube_api, namespace, _store(spec_with(case.changes)))
    error = excinfo.value
    assert error.status in (400, 422), error.body
    body = json.loads(error.body)
    # body["message"] is what `kubectl apply` prints.
    assert case.api_field in body["message"] and case.api_message in body["message"], body
    causes = body.get("details", {}).get("causes")
    if causes is not None:  # 400 (unknown fields) has none
        blamed = [c for c in causes if c["field"] == case.api_field]
        assert blamed and case.api_message in blamed[0]["message"], causes


@pytest.mark.parametrize("name", ["1shop", "a" * 41, "shop.example"])
def test_store_name_must_fit_in_child_names(
    name: str, productstore_crd: dict[str, Any], kube_api: client.ApiClient, namespace: str
) -> None:
    with pytest.raises(ApiException) as excinfo:
        _create(kube_api, namespace, _store(load_sample("productstore-minimal")["spec"], name))
    assert excinfo.value.status == 422
    assert (
        "metadata.name must be at most 40 characters" in json.loads(excinfo.value.body)["message"]
    )


def test_printer_columns_status_and_immutable_mode(
    productstore_crd: dict[str, Any],
    kubectl: Kubectl,
    kube_api: client.ApiClient,
    namespace: str,
) -> None:
    custom = client.CustomObjectsApi(kube_api)
    name = f"shop-{uuid.uuid4().hex[:6]}"
    _create(
        kube_api,
        namespace,
        _store(load_sample("productstore-minimal")["spec"], name),
        dry_run=False,
    )
    try:
        status = ProductStoreStatus.model_validate(
            {
                "observedGeneration": 1,
                "phase": "Ready",
                "version": "0.1.0",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "AllComponentsReady",
                        "message": "",
                        "lastTransitionTime": datetime.now(UTC).replace(microsecond=0),
                    }
                ],
                "services": {"catalog": {"desiredReplicas": 2, "readyReplicas": 2}},
                # The exact Vault names the operator wrote: kept by the structural schema.
                "vault": {
                    "name": "default",
                    "authMount": "kubernetes",
                    "roles": ["productstore-ns-shop-0123456789abcdef-auth"],
                    "policies": ["productstore-ns-shop-0123456789abcdef-auth"],
                },
            }
        )
        patched = custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            name,
            {"status": status.model_dump(mode="json", exclude_none=True)},
        )
        assert ProductStoreStatus.model_validate(patched["status"]) == status

        table = kubectl("get", "ps", "-n", namespace, "-o", "wide").splitlines()
        assert table[0].split() == ["NAME", "READY", "PHASE", "VERSION", "CASSANDRA", "AGE"]
        assert table[1].split()[:5] == [name, "True", "Ready", "0.1.0", "k8ssandra"]
        assert name in kubectl("get", "productstore-io", "-n", namespace, "-o", "name")

        change = {
            "spec": {
                "cassandra": {
                    "mode": "external",
                    "external": {"contactPoints": ["10.0.0.1"], "localDatacenter": "dc1"},
                }
            }
        }
        with pytest.raises(ApiException) as excinfo:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, change, dry_run="All"
            )
        assert excinfo.value.status == 422
        assert "cassandra.mode cannot change" in json.loads(excinfo.value.body)["message"]
        # The store's secrets live in its Vault: it cannot move to another by a rename.
        with pytest.raises(ApiException) as excinfo:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, {"spec": {"vault": {"name": "eu"}}},
                dry_run="All",
            )  # fmt: skip
        assert excinfo.value.status == 422
        assert "vault.name is immutable" in json.loads(excinfo.value.body)["message"]
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_kubectl_explain_shows_the_descriptions(
    productstore_crd: dict[str, Any], kubectl: Kubectl
) -> None:
    cassandra = _schema()["properties"]["spec"]["properties"]["cassandra"]
    expected = [_words(cassandra["description"])] + [
        _words(field["description"]) for field in cassandra["properties"].values()
    ]
    assert _words(CassandraSpec.model_fields["deletion_policy"].description or "") in expected
    deadline = time.monotonic() + EXPLAIN_TIMEOUT
    while True:
        explained = _words(kubectl("explain", "productstores.spec.cassandra"))
        missing = [text for text in expected if text not in explained]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"kubectl explain lacks {missing}:\n{explained}"
    for field in cassandra["properties"]:
        assert field in explained
