"""The CassandraReady step of an external Cassandra, against devstack's OpenBao and
Cassandra (passwords on): the services' roles from their Vault entries, made with
the administrator credential in Vault; conditions that say what to do; deletion
that drops the roles and, with Delete, the keyspaces."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import hvac.exceptions
import pytest
from cassandra import Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from kubernetes import client

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from devstack.components.openbao import OpenBao
from productstore_operator.builders.naming import service_keyspace
from productstore_operator.builders.settings import OperatorSettings, VaultSettings
from productstore_operator.config import RuntimeConfig, VaultServer
from productstore_operator.io import Helm, Kube
from productstore_operator.io.secretgen import generate_secret
from productstore_operator.models import SERVICE_NAMES
from productstore_operator.reconcile.cassandra_roles import drop_external_roles
from productstore_operator.reconcile.cassandra_step import ensure_cassandra
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.plan import Plan, make_plan
from productstore_operator.reconcile.runtime import Runtime
from tests.operator.spec_cases import load_sample
from tests.support.cassandra_auth import require_authentication
from tests.support.stores import write_cassandra_admin

CHART = Path(__file__).resolve().parents[3] / "charts" / "productstore"


@pytest.fixture
def store(cassandra: Cassandra, openbao: OpenBao) -> Iterator[tuple[Plan, Runtime]]:
    """A devstack store (external Cassandra) with its own Vault folder and namespace
    name, its secrets generated as the SecretsReady step does."""
    require_authentication(cassandra)
    tag = uuid.uuid4().hex[:8]
    spec = load_sample("productstore-devstack")["spec"]
    # The operator's one Vault, with a folder and prefix of this test's own.
    server = VaultServer(
        "default",
        openbao.addr,
        openbao.addr,
        kv_path=f"roles-test-{tag}",
        role_prefix=f"roles-{tag}",
        insecure=True,
    )
    targets = MappingProxyType({server.name: server.target()})
    settings = OperatorSettings(vault=VaultSettings(servers=targets))
    config = RuntimeConfig(vault_token=openbao.token, vaults=(server,), settings=settings)
    plan = make_plan(
        name="shop",
        namespace=f"ns-{tag}",
        uid=tag,
        generation=1,
        spec=spec,
        settings=config.settings,
    )
    runtime = Runtime(
        config=config, kube=Kube(client.ApiClient()), helm=Helm("helm", CHART, None, 1)
    )
    bao = openbao.client()
    # What the SecretsReady step generates (auth's client list it derives, not needed here).
    for secret in plan.vault.secrets:
        if secret.kind == "service-clients":
            continue
        bao.secrets.kv.v2.create_or_update_secret(
            path=f"{plan.vault.store_path}/{secret.key}",
            secret=generate_secret(secret, plan.store),
            mount_point="secret",
        )
    try:
        yield plan, runtime
    finally:
        paths = [f"{plan.vault.store_path}/{key}" for key in plan.vault.secret_keys()]
        for path in [*paths, *plan.vault.cassandra_admin]:
            with contextlib.suppress(hvac.exceptions.VaultError):
                bao.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point="secret")
        with cassandra_auth.session(
            cassandra.contact_points[0], cassandra.port, cassandra.credentials
        ) as db:
            for service in SERVICE_NAMES:
                name = service_keyspace(plan.store, service)
                db.execute(f"DROP ROLE IF EXISTS {name}")
                db.execute(f"DROP KEYSPACE IF EXISTS {name}")


def vault_entry(openbao: OpenBao, plan: Plan, service: str) -> dict[str, str]:
    data: dict[str, str] = openbao.client().secrets.kv.v2.read_secret_version(
        path=f"{plan.vault.store_path}/{service}/cassandra",
        mount_point="secret",
        raise_on_deleted_version=True,
    )["data"]["data"]
    return data


def session_as(node: Cassandra, entry: dict[str, str]) -> tuple[Cluster, Any]:
    cluster = Cluster(
        list(node.contact_points),
        port=node.port,
        protocol_version=5,
        auth_provider=PlainTextAuthProvider(entry["username"], entry["password"]),
    )
    return cluster, cluster.connect()


def keyspaces(node: Cassandra) -> set[str]:
    with cassandra_auth.session(node.contact_points[0], node.port, node.credentials) as db:
        return {
            r.keyspace_name for r in db.execute("SELECT keyspace_name FROM system_schema.keyspaces")
        }


def test_roles_from_vault_then_deletion_drops_them_and_the_keyspaces(
    cassandra: Cassandra, openbao: OpenBao, store: tuple[Plan, Runtime]
) -> None:
    plan, runtime = store
    ctx = PassContext(plan, runtime)

    # No administrator credential yet: the condition says where to put one.
    result = asyncio.run(ensure_cassandra(ctx))
    assert (result.status, result.reason) == ("False", "CassandraAdminMissing")
    assert f"secret/{plan.vault.store_path}/cassandra-admin" in result.message
    shared = plan.vault.cassandra_admin[1]  # <kvPath>/cassandra-admin, for every store there
    assert f"secret/{shared}" in result.message

    write_cassandra_admin(openbao, shared.removesuffix("/cassandra-admin"))
    result = asyncio.run(ensure_cassandra(ctx))
    assert (result.status, result.reason) == ("True", "ExternalCassandra"), result.message
    auth_ks, catalog_ks = (service_keyspace(plan.store, s) for s in ("auth", "catalog"))
    assert f"{auth_ks} (auth)" in result.message and f"{catalog_ks} (catalog)" in result.message

    # What the pods read from Vault logs in, to its own keyspace only.
    auth, catalog = (vault_entry(openbao, plan, s) for s in ("auth", "catalog"))
    assert (auth["username"], catalog["username"]) == (auth_ks, catalog_ks)
    cluster, db = session_as(cassandra, auth)
    try:
        db.execute(f"CREATE TABLE {auth_ks}.users (id int PRIMARY KEY, password_hash text)")
    finally:
        cluster.shutdown()
    cluster, db = session_as(cassandra, catalog)
    try:
        with pytest.raises(Unauthorized):
            db.execute(f"SELECT password_hash FROM {auth_ks}.users")  # noqa: S608
    finally:
        cluster.shutdown()

    # Idempotent: again from a fresh operator process (nothing remembered).
    runtime.cassandra_roles.clear()
    assert asyncio.run(ensure_cassandra(ctx)).status == "True"

    # A wrong administrator password in the store's own folder (looked at first).
    openbao.client().secrets.kv.v2.create_or_update_secret(
        path=plan.vault.cassandra_admin[0],
        secret={"username": "devstack", "password": "not-it-4f1e"},
        mount_point="secret",
    )
    runtime.cassandra_roles.clear()
    result = asyncio.run(ensure_cassandra(ctx))
    assert (result.status, result.reason) == ("False", "CassandraRolesFailed")
    assert (
        f"refused the administrator credential (Vault secret/{plan.vault.cassandra_admin[0]})"
        in (result.message)
    )
    assert "not-it-4f1e" not in result.message and "Provided username" not in result.message
    openbao.client().secrets.kv.v2.delete_metadata_and_all_versions(
        path=plan.vault.cassandra_admin[0], mount_point="secret"
    )

    # Deletion with Delete: roles and keyspaces go.
    event = asyncio.run(drop_external_roles(plan, runtime, drop_keyspaces=True))
    assert event.reason == "Deleted" and "roles and keyspaces" in event.message
    assert not {auth_ks, catalog_ks} & keyspaces(cassandra)
    # The driver names the refusal itself, or wraps it per host in NoHostAvailable.
    with pytest.raises(Exception) as refused:
        session_as(cassandra, catalog)
    assert "Bad credentials" in repr(refused.value) + repr(getattr(refused.value, "errors", ""))
