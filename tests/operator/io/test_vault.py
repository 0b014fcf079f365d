"""VaultAdmin against devstack's OpenBao: idempotent, never overwrites a secret,
prunes what a spec no longer asks for, says what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import hvac.exceptions
import pytest

from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao
from productstore_auth.app.data.vault import VaultKeyStore, VaultUnavailableError
from productstore_operator.builders import OperatorSettings, StoreRef, build_vault_config
from productstore_operator.builders.naming import service_keyspace, vault_role_prefix
from productstore_operator.builders.vault import GeneratedSecret
from productstore_operator.io import KubernetesAuth, TransientError, VaultAdmin, generate_secret
from productstore_operator.models import IMPLEMENTED_SERVICES, SERVICE_NAMES, ProductStoreSpec
from tests.operator.auth_keys import create_and_rotate
from tests.operator.spec_cases import spec_with

SETTINGS = OperatorSettings()


class Names:
    def __init__(self) -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.mount = f"k8s-io-{self.suffix}"
        self.kv_path = f"io-test-{self.suffix}"
        self.prefix = f"io-{self.suffix}"


@pytest.fixture
def names(openbao: OpenBao) -> Iterator[Names]:
    created = Names()
    yield created
    bao = openbao.client()
    with contextlib.suppress(hvac.exceptions.VaultError):
        bao.sys.disable_auth_method(path=created.mount)
    for policy in bao.sys.list_acl_policies()["data"]["keys"]:
        if policy.startswith(created.prefix):
            bao.sys.delete_acl_policy(policy)
    for key in (*(f"{s}/cassandra" for s in SERVICE_NAMES), "auth/signing-keys"):
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.secrets.kv.v2.delete_metadata_and_all_versions(
                path=f"{created.kv_path}/ns/shop/{key}", mount_point="secret"
            )


def config_for(names: Names, changes: dict[str, Any] | None = None) -> Any:
    spec = spec_with(
        {
            "vault.address": "http://127.0.0.1:8200",
            "vault.authMount": names.mount,
            "vault.kvPath": names.kv_path,
            "vault.rolePrefix": names.prefix,
            **(changes or {}),
        }
    )
    model = ProductStoreSpec.model_validate(spec)
    store = StoreRef("shop", "ns")
    return build_vault_config(model, store, SETTINGS), vault_role_prefix(names.prefix, store)


def auth(kube: KubeApiserver) -> KubernetesAuth:
    return KubernetesAuth(
        host=kube.server, ca_pem=kube.ca_cert.read_text(), reviewer_jwt=None, refresh_seconds=3600
    )


def generate(secret: GeneratedSecret) -> dict[str, Any]:
    return generate_secret(secret, StoreRef("shop", "ns"))


def test_ensure_store_is_idempotent_and_keeps_secrets(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    first = asyncio.run(admin.ensure_store(config, prefix, auth(kube), generate))
    # The Cassandra credentials and catalog's cursor key: auth creates its signing keys itself.
    assert first.created_secrets == [
        *(f"{s}/cassandra" for s in SERVICE_NAMES),
        "catalog/search-cursor",
    ]
    assert len(first.written_roles) == len(first.written_policies) == len(IMPLEMENTED_SERVICES)
    assert first.configured_auth

    bao = openbao.client()
    paths = [
        f"{names.kv_path}/ns/shop/{key}" for key in ("catalog/cassandra", "catalog/search-cursor")
    ]
    original = [
        bao.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )["data"]["data"]
        for path in paths
    ]
    # A second operator process (fresh state) writes nothing and overwrites nothing.
    again = asyncio.run(
        VaultAdmin(openbao.addr, openbao.token).ensure_store(config, prefix, auth(kube), generate)
    )
    assert (again.created_secrets, again.written_roles, again.written_policies) == ([], [], [])
    assert again.removed == []
    assert not again.configured_auth  # configured right already
    current = [
        bao.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )["data"]["data"]
        for path in paths
    ]
    assert current == original
    config_read = bao.auth.kubernetes.read_config(mount_point=names.mount)
    assert (config_read.get("data") or config_read)["kubernetes_host"] == kube.server


def test_disabled_services_lose_their_role_and_removal_honours_secrets(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, prefix, auth(kube), generate))
    fewer, _ = config_for(names, {"services.catalog.enabled": False})
    changes = asyncio.run(admin.ensure_store(fewer, prefix, auth(kube), generate))
    assert changes.removed == [f"role {prefix}catalog", f"policy {prefix}catalog"]

    removed = asyncio.run(admin.remove_store(fewer, prefix, secrets=False))
    assert removed == [f"role {prefix}auth", f"policy {prefix}auth"]  # no secret
    bao = openbao.client()
    assert bao.secrets.kv.v2.read_secret_metadata(
        path=f"{names.kv_path}/ns/shop/auth/cassandra", mount_point="secret"
    )
    # Before auth ever ran there are no signing keys, and none is reported removed.
    removed = asyncio.run(admin.remove_store(fewer, prefix, secrets=True))
    cassandra = [f"secret {names.kv_path}/ns/shop/{s}/cassandra" for s in SERVICE_NAMES]
    assert removed == [*cassandra, f"secret {names.kv_path}/ns/shop/catalog/search-cursor"]

    # Once auth has written its keys, deleting the store's secrets removes them too.
    asyncio.run(admin.ensure_store(fewer, prefix, auth(kube), generate))
    keys = f"{names.kv_path}/ns/shop/auth/signing-keys"
    bao.secrets.kv.v2.create_or_update_secret(
        path=keys, secret={"format": 1, "keys": []}, cas=0, mount_point="secret"
    )
    removed = asyncio.run(admin.remove_store(fewer, prefix, secrets=True))
    assert removed[-(len(cassandra) + 2) :] == [
        *cassandra,
        f"secret {names.kv_path}/ns/shop/catalog/search-cursor",
        f"secret {keys}",
    ]
    with pytest.raises(hvac.exceptions.InvalidPath):
        bao.secrets.kv.v2.read_secret_metadata(path=keys, mount_point="secret")


def test_auths_policy_lets_its_key_store_create_and_rotate_nothing_more(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, prefix, auth(kube), generate))
    bao = openbao.client()

    def token(service: str) -> str:
        # A token carrying only the service's policy, as its role's login would get.
        created: str = bao.auth.token.create(policies=[prefix + service], ttl="10m")["auth"][
            "client_token"
        ]
        return created

    def store(service: str, path: str) -> VaultKeyStore:
        return VaultKeyStore(addr=openbao.addr, mount="secret", path=path, token=token(service))

    keys = f"{names.kv_path}/ns/shop/auth/signing-keys"
    # The auth service's own code: first key (cas 0), rotation (cas n), re-read.
    done = create_and_rotate(store("auth", keys))
    assert done.rotated_kid != done.first_kid
    assert done.signing_kid_after_rotation == done.first_kid  # activation delay
    assert done.published_kids == {done.first_kid, done.rotated_kid}
    assert done.stored_version == 2

    catalog = store("catalog", keys)
    with pytest.raises(VaultUnavailableError, match="403"):
        asyncio.run(catalog.load())
    catalog.close()
    # auth's policy names one store's path: another store's keys are out of reach.
    elsewhere = store("auth", f"{names.kv_path}/other-ns/shop/auth/signing-keys")
    with pytest.raises(VaultUnavailableError, match="403"):
        asyncio.run(elsewhere.save([], None))
    elsewhere.close()
    # The Cassandra credentials stay read-only, to auth too.
    with pytest.raises(hvac.exceptions.Forbidden):
        hvac.Client(url=openbao.addr, token=token("auth")).secrets.kv.v2.create_or_update_secret(
            path=f"{names.kv_path}/ns/shop/auth/cassandra", secret={"x": "y"}, mount_point="secret"
        )


@pytest.mark.parametrize(("service", "other"), [("catalog", "auth"), ("auth", "catalog")])
def test_each_service_reads_its_own_cassandra_role_only(
    openbao: OpenBao, kube: KubeApiserver, names: Names, service: str, other: str
) -> None:
    """A compromised catalog must not get auth's Cassandra login (it used to: one
    credential for every service)."""
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, prefix, auth(kube), generate))
    bao = openbao.client()
    token = bao.auth.token.create(policies=[prefix + service], ttl="10m")["auth"]["client_token"]
    own = hvac.Client(url=openbao.addr, token=token).secrets.kv.v2

    def read(owner: str) -> dict[str, Any]:
        data: dict[str, Any] = own.read_secret_version(
            path=f"{names.kv_path}/ns/shop/{owner}/cassandra",
            mount_point="secret",
            raise_on_deleted_version=True,
        )["data"]["data"]
        return data

    store = StoreRef("shop", "ns")
    assert read(service)["username"] == service_keyspace(store, service)
    with pytest.raises(hvac.exceptions.Forbidden):
        read(other)


def test_search_cursor_key_is_generated_once_and_read_only_by_catalog(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, prefix, auth(kube), generate))
    bao = openbao.client()
    path = f"{names.kv_path}/ns/shop/catalog/search-cursor"

    def read_as(service: str) -> dict[str, Any]:
        token = bao.auth.token.create(policies=[prefix + service], ttl="10m")["auth"]
        client = hvac.Client(url=openbao.addr, token=token["client_token"])
        data: dict[str, Any] = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )["data"]["data"]
        return data

    # What the catalog's agent renders to /vault/secrets/search_cursor: {"key": ...}.
    first = read_as("catalog")
    assert set(first) == {"key"}
    assert len(first["key"]) >= 43  # 32 random bytes, url-safe base64
    for other in ("auth", "orders"):
        with pytest.raises(hvac.exceptions.Forbidden):
            read_as(other)
    # Every replica, and every later pass, sees the same key: it is never regenerated.
    asyncio.run(
        VaultAdmin(openbao.addr, openbao.token).ensure_store(config, prefix, auth(kube), generate)
    )
    assert read_as("catalog") == first
    # A fresh value is random, so two stores never share a key.
    cursor_key = next(s for s in config.secrets if s.file == "search_cursor")
    assert generate_secret(cursor_key, StoreRef("shop", "ns")) != first


def test_a_kv_version_1_mount_is_refused(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    bao = openbao.client()
    mount = f"kv1-{names.suffix}"
    bao.sys.enable_secrets_engine(backend_type="kv", path=mount, options={"version": "1"})
    try:
        config, prefix = config_for(names, {"vault.kvMount": mount})
        with pytest.raises(TransientError, match=r"not KV version 2: set spec\.vault\.kvMount"):
            asyncio.run(
                VaultAdmin(openbao.addr, openbao.token).ensure_store(
                    config, prefix, auth(kube), generate
                )
            )
    finally:
        bao.sys.disable_secrets_engine(path=mount)


def test_unreachable_and_forbidden_vaults_are_transient(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    config, prefix = config_for(names)
    # A port nothing listens on (the loopback discard port).
    with pytest.raises(TransientError, match="unreachable"):
        asyncio.run(
            VaultAdmin("http://127.0.0.1:9", "t", timeout=2).ensure_store(
                config, prefix, auth(kube), generate
            )
        )
    with pytest.raises(TransientError, match=r"refused .* \(403\)"):
        asyncio.run(
            VaultAdmin(openbao.addr, "not-a-token").ensure_store(
                config, prefix, auth(kube), generate
            )
        )
