"""Kube (the operator's apiserver calls) against devstack's apiserver: what exists
already or is gone already is no error; a refusal and an unreachable apiserver
are TransientErrors that say which call and why."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from kubernetes import client

from productstore_operator.io import TransientError
from productstore_operator.io.kube import Kube

# A kind with no controller on devstack: the apiserver only stores it.
ISTIO = ("networking.istio.io", "v1", "destinationrules")


def rule(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
        "spec": {"host": "shop-catalog"},
    }


def test_create_get_list_patch_delete_an_object(kube_api: client.ApiClient, namespace: str) -> None:
    async def run() -> None:
        kube = Kube(kube_api)
        assert await kube.get(*ISTIO, namespace, "shop") is None
        created = await kube.create(*ISTIO, rule(namespace, "shop"))
        # Created again (a pass that raced its own earlier one): the existing object.
        again = await kube.create(*ISTIO, {**rule(namespace, "shop"), "spec": {"host": "x"}})
        assert again["metadata"]["uid"] == created["metadata"]["uid"]
        assert again["spec"]["host"] == "shop-catalog"
        patched = await kube.patch(*ISTIO, namespace, "shop", changes={"spec": {"host": "y"}})
        assert patched["spec"]["host"] == "y"
        assert [o["metadata"]["name"] for o in await kube.list(*ISTIO, namespace, "app=shop")] == [
            "shop"
        ]
        assert await kube.list(*ISTIO, namespace, "app=other") == []
        await kube.delete(*ISTIO, namespace, "shop")
        await kube.delete(*ISTIO, namespace, "shop")  # gone already: fine
        assert await kube.get(*ISTIO, namespace, "shop") is None

    asyncio.run(run())


def test_a_kind_whose_crd_is_not_installed_lists_nothing(
    kube_api: client.ApiClient, namespace: str
) -> None:
    kube = Kube(kube_api)
    found = asyncio.run(kube.list("nothing.productstore.invalid", "v1", "things", namespace, ""))
    assert found == []


def test_secrets_are_read_and_written_whole(kube_api: client.ApiClient, namespace: str) -> None:
    async def run() -> None:
        kube = Kube(kube_api)
        assert await kube.get_secret(namespace, "creds") is None
        meta = {"name": "creds", "namespace": namespace, "labels": {"a": "1"}}
        await kube.create_secret({"metadata": meta, "stringData": {"one": "1"}})
        await kube.patch_secret(namespace, "creds", {"stringData": {"two": "2"}})
        secret = await kube.get_secret(namespace, "creds")
        assert secret is not None
        assert set(secret["data"]) == {"one", "two"}
        assert secret["metadata"]["labels"] == {"a": "1"}
        await kube.delete_secret(namespace, "creds")
        await kube.delete_secret(namespace, "creds")  # gone already: fine
        assert await kube.get_secret(namespace, "creds") is None

    asyncio.run(run())


def test_a_refusal_says_which_call_and_the_apiservers_reason(
    kube_api: client.ApiClient, namespace: str
) -> None:
    kube = Kube(kube_api)
    with pytest.raises(TransientError) as refused:
        asyncio.run(kube.create(*ISTIO, rule(namespace, "Not_A_Name")))
    message = str(refused.value)
    assert message.startswith("Kubernetes API refused to create destinationrules/Not_A_Name: 422")
    assert "metadata.name: Invalid value" in message

    with pytest.raises(TransientError, match=rf"refused a token of {namespace}/nobody: 404"):
        kube.service_account_token_now(namespace, "nobody", 600)


def test_the_operators_own_access_is_the_apiservers_verdict(kube_api: client.ApiClient) -> None:
    # The test's client is the cluster's admin.
    assert asyncio.run(Kube(kube_api).can_i("delete", "", "secrets", "kube-system")) is True


def test_an_unreachable_apiserver_is_a_transient_error(kube_api: client.ApiClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = 0
    kube = Kube(client.ApiClient(configuration))
    try:
        with pytest.raises(TransientError, match=r"Kubernetes API unreachable \(read secrets/x\)"):
            asyncio.run(kube.get_secret("default", "x"))
    finally:
        kube.close()
