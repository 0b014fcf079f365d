"""VaultAdmin against devstack's OpenBao: idempotent, never overwrites a secret,
removes exactly the names it recorded, says what is wrong without repeating what
the server answered."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import ipaddress
import json
import logging
import os
import shlex
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.components.kube import KubeApiserver
from devstack.components.openbao import OpenBao, find_bao
from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.data.vault import VaultKeyStore, VaultUnavailableError
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_operator.builders import (
    OperatorSettings,
    StoreRef,
    VaultSettings,
    VaultTarget,
    build_vault_config,
)
from productstore_operator.builders.naming import service_keyspace, vault_role_prefix
from productstore_operator.builders.vault import (
    PROVIDED_SECRETS,
    SECRETS,
    SERVICE_CLIENTS_KEY,
    GeneratedSecret,
    VaultConfig,
    VaultNames,
    missing_provided,
    provided_files,
    secret_files,
)
from productstore_operator.io import KubernetesAuth, TransientError, VaultAdmin, generate_secret
from productstore_operator.models import IMPLEMENTED_SERVICES, SERVICE_NAMES, ProductStoreSpec
from tests.operator.auth_keys import create_and_rotate
from tests.operator.spec_cases import spec_with

SHOP = StoreRef("shop", "ns")


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
    provided = (secret.key for secret in PROVIDED_SECRETS)
    for key in (*(secret.key for secret in SECRETS), "auth/signing-keys", *provided):
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.secrets.kv.v2.delete_metadata_and_all_versions(
                path=f"{created.kv_path}/ns/shop/{key}", mount_point="secret"
            )


def settings_for(names: Names, kv_mount: str = "secret") -> OperatorSettings:
    target = VaultTarget(
        name="default",
        pod_address="http://127.0.0.1:8200",
        auth_mount=names.mount,
        kv_mount=kv_mount,
        kv_path=names.kv_path,
        role_prefix=names.prefix,
    )
    return OperatorSettings(vault=VaultSettings(servers={"default": target}))


def config_for(
    names: Names,
    changes: dict[str, Any] | None = None,
    store: StoreRef = SHOP,
    kv_mount: str = "secret",
) -> tuple[VaultConfig, str]:
    model = ProductStoreSpec.model_validate(spec_with(changes or {}))
    config = build_vault_config(model, store, settings_for(names, kv_mount))
    return config, vault_role_prefix(names.prefix, store)


def nothing(config: VaultConfig) -> VaultNames:
    """No names recorded before: a store's first pass."""
    return VaultNames(config.auth_mount)


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
    config, _ = config_for(names)
    first = asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
    # The Cassandra credentials, catalog's cursor key and notifications' unsubscribe
    # key: auth creates its signing keys itself.
    assert first.created_secrets == [
        *(f"{s}/cassandra" for s in SERVICE_NAMES),
        "auth/first-admin",
        "catalog/search-cursor",
        "notifications/unsubscribe",
        "notifications/vapid",
        "notifications/auth-client",
    ]
    assert first.wrote_service_clients
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
        VaultAdmin(openbao.addr, openbao.token).ensure_store(
            config, config.names(), auth(kube), generate
        )
    )
    assert (again.created_secrets, again.written_roles, again.written_policies) == ([], [], [])
    assert not again.wrote_service_clients
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
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
    fewer, _ = config_for(names, {"services.catalog.enabled": False})
    # The names the first pass recorded: catalog's are no longer written, so they go.
    changes = asyncio.run(admin.ensure_store(fewer, config.names(), auth(kube), generate))
    assert changes.removed == [f"role {prefix}catalog", f"policy {prefix}catalog"]

    removed = asyncio.run(admin.remove_store(fewer, fewer.names(), secrets=False))
    left = [name for name in IMPLEMENTED_SERVICES if name != "catalog"]
    # The enabled services' names, and no secret.
    assert sorted(removed) == sorted(
        [f"role {prefix}{name}" for name in left] + [f"policy {prefix}{name}" for name in left]
    )
    bao = openbao.client()
    assert bao.secrets.kv.v2.read_secret_metadata(
        path=f"{names.kv_path}/ns/shop/auth/cassandra", mount_point="secret"
    )
    # Before auth ever ran there are no signing keys, and none is reported removed.
    removed = asyncio.run(admin.remove_store(fewer, fewer.names(), secrets=True))
    cassandra = [f"secret {names.kv_path}/ns/shop/{s}/cassandra" for s in SERVICE_NAMES]
    assert removed == [
        *cassandra,
        f"secret {names.kv_path}/ns/shop/auth/first-admin",
        f"secret {names.kv_path}/ns/shop/catalog/search-cursor",
        f"secret {names.kv_path}/ns/shop/notifications/unsubscribe",
        f"secret {names.kv_path}/ns/shop/notifications/vapid",
        f"secret {names.kv_path}/ns/shop/notifications/auth-client",
        f"secret {names.kv_path}/ns/shop/auth/service-clients",
    ]

    # Once auth has written its keys, deleting the store's secrets removes them too.
    asyncio.run(admin.ensure_store(fewer, nothing(fewer), auth(kube), generate))
    keys = f"{names.kv_path}/ns/shop/auth/signing-keys"
    bao.secrets.kv.v2.create_or_update_secret(
        path=keys, secret={"format": 1, "keys": []}, cas=0, mount_point="secret"
    )
    removed = asyncio.run(admin.remove_store(fewer, fewer.names(), secrets=True))
    assert removed[-(len(cassandra) + 7) :] == [
        *cassandra,
        f"secret {names.kv_path}/ns/shop/auth/first-admin",
        f"secret {names.kv_path}/ns/shop/catalog/search-cursor",
        f"secret {names.kv_path}/ns/shop/notifications/unsubscribe",
        f"secret {names.kv_path}/ns/shop/notifications/vapid",
        f"secret {names.kv_path}/ns/shop/notifications/auth-client",
        f"secret {names.kv_path}/ns/shop/auth/service-clients",
        f"secret {keys}",
    ]
    with pytest.raises(hvac.exceptions.InvalidPath):
        bao.secrets.kv.v2.read_secret_metadata(path=keys, mount_point="secret")


def test_auths_policy_lets_its_key_store_create_and_rotate_nothing_more(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
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
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
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


def _read_as(openbao: OpenBao, policy: str, path: str) -> dict[str, Any]:
    """The KV entry at ``path`` read with a token of ``policy`` alone, as the agent of
    the service with that policy would (Forbidden when the policy does not allow it)."""
    token = openbao.client().auth.token.create(policies=[policy], ttl="10m")["auth"]
    client = hvac.Client(url=openbao.addr, token=token["client_token"])
    data: dict[str, Any] = client.secrets.kv.v2.read_secret_version(
        path=path, mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    return data


def test_search_cursor_key_is_generated_once_and_read_only_by_catalog(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
    path = f"{names.kv_path}/ns/shop/catalog/search-cursor"

    def read_as(service: str) -> dict[str, Any]:
        return _read_as(openbao, prefix + service, path)

    # What the catalog's agent renders to /vault/secrets/search_cursor: {"key": ...}.
    first = read_as("catalog")
    assert set(first) == {"key"}
    assert len(first["key"]) >= 43  # 32 random bytes, url-safe base64
    for other in ("auth", "orders"):
        with pytest.raises(hvac.exceptions.Forbidden):
            read_as(other)
    # Every replica, and every later pass, sees the same key: it is never regenerated.
    asyncio.run(
        VaultAdmin(openbao.addr, openbao.token).ensure_store(
            config, config.names(), auth(kube), generate
        )
    )
    assert read_as("catalog") == first
    # A fresh value is random, so two stores never share a key.
    cursor_key = next(s for s in config.secrets if s.file == "search_cursor")
    assert generate_secret(cursor_key, StoreRef("shop", "ns")) != first


def test_auth_lists_the_enabled_clients_with_their_current_secrets(
    openbao: OpenBao, kube: KubeApiserver, names: Names, tmp_path: Path
) -> None:
    """notifications asks auth for service tokens (ADR 0027): its client secret is made
    once, only it and auth can read it (auth through the derived list), and the list
    follows the enabled services and a rotated secret."""
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
    bao = openbao.client()
    folder = f"{names.kv_path}/ns/shop"

    def read_as(service: str, key: str) -> dict[str, Any]:
        return _read_as(openbao, prefix + service, f"{folder}/{key}")

    # What notifications' agent renders to /vault/secrets/auth_client and auth's to
    # /vault/secrets/service: NOTIFICATIONS_AUTH_CLIENT_SECRET, AUTH_SERVICE_CLIENTS.
    secret = read_as("notifications", "notifications/auth-client")["secret"]
    assert len(secret) >= 43
    listed = json.loads(read_as("auth", SERVICE_CLIENTS_KEY)["clients"])
    assert listed == {"notifications": {"secret": secret, "audiences": ["auth"]}}
    for other in ("catalog", "orders"):
        with pytest.raises(hvac.exceptions.Forbidden):
            read_as(other, "notifications/auth-client")
        with pytest.raises(hvac.exceptions.Forbidden):
            read_as(other, SERVICE_CLIENTS_KEY)
    with pytest.raises(hvac.exceptions.Forbidden):
        read_as("notifications", SERVICE_CLIENTS_KEY)

    # The agent renders each entry as JSON (the chart's template): the settings read it.
    # auth's list, and every file of notifications' (so it starts as in a cluster).
    rendered = {"auth": tmp_path / "auth", "notifications": tmp_path / "notifications"}
    for service, files in (
        ("auth", {"service": SERVICE_CLIENTS_KEY}),
        ("notifications", secret_files("notifications")),
    ):
        rendered[service].mkdir()
        for file, key in files.items():
            if key:
                (rendered[service] / file).write_text(json.dumps(read_as(service, key)))
    # As in a cluster (not development, so weak secrets are refused too).
    options: dict[str, Any] = {"_secrets_dir": rendered["auth"], "vault_role": "auth"}
    clients = AuthSettings(**options, environment="production", vault_addr=openbao.addr).clients()
    assert clients["notifications"].secret.get_secret_value() == secret
    options = {"_secrets_dir": rendered["notifications"], "environment": "production"}
    client_secret = NotificationsSettings(**options).auth_client_secret
    assert client_secret is not None and client_secret.get_secret_value() == secret

    # An administrator rotates the client's secret: the next pass rewrites the list.
    bao.secrets.kv.v2.create_or_update_secret(
        path=f"{folder}/notifications/auth-client",
        secret={"secret": "rotated-" + "x" * 40},
        mount_point="secret",
    )
    rotated = asyncio.run(admin.ensure_store(config, config.names(), auth(kube), generate))
    assert rotated.wrote_service_clients and rotated.created_secrets == []
    listed = json.loads(read_as("auth", SERVICE_CLIENTS_KEY)["clients"])
    assert listed["notifications"]["secret"] == "rotated-" + "x" * 40

    # notifications disabled: auth no longer lists it, and its secret stays for later.
    without, _ = config_for(names, {"services": {"notifications": {"enabled": False}}})
    asyncio.run(admin.ensure_store(without, config.names(), auth(kube), generate))
    assert json.loads(read_as("auth", SERVICE_CLIENTS_KEY)["clients"]) == {}
    assert bao.secrets.kv.v2.read_secret_version(
        path=f"{folder}/notifications/auth-client",
        mount_point="secret",
        raise_on_deleted_version=True,
    )["data"]["data"] == {"secret": "rotated-" + "x" * 40}


def _render_provided(openbao: OpenBao, policy: str, config: VaultConfig, into: Path) -> None:
    """/vault/secrets as the agent renders notifications' files with ``policy``'s token:
    its generated entries, and each provided one as JSON, or empty while missing (the
    chart's template lists the folder first; tests/charts/test_vault_agent.py runs it)."""
    token = openbao.client().auth.token.create(policies=[policy], ttl="10m")["auth"]
    client = hvac.Client(url=openbao.addr, token=token["client_token"])
    into.mkdir(exist_ok=True)
    for file, key in secret_files("notifications").items():
        if key:
            (into / file).write_text(
                json.dumps(_read_as(openbao, policy, f"{config.store_path}/{key}"))
            )
    for file, key in provided_files("notifications").items():
        folder, _, name = key.rpartition("/")
        try:
            listed = client.secrets.kv.v2.list_secrets(
                path=f"{config.store_path}/{folder}", mount_point="secret"
            )["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            listed = []
        text = ""
        if name in listed:
            text = json.dumps(_read_as(openbao, policy, f"{config.store_path}/{key}"))
        (into / file).write_text(text)


def test_provided_credentials_are_written_by_an_administrator_and_read_by_notifications(
    openbao: OpenBao, kube: KubeApiserver, names: Names, tmp_path: Path
) -> None:
    """ADR 0039: the SMS providers' key and the admins' chats. The operator writes none,
    says the command that does, and notifications starts without them (channels off)
    and with them (channels on), in production mode, from the rendered files."""
    admin = VaultAdmin(openbao.addr, openbao.token)
    config, prefix = config_for(names)
    asyncio.run(admin.ensure_store(config, nothing(config), auth(kube), generate))
    bao = openbao.client()
    for secret in PROVIDED_SECRETS:
        with pytest.raises(hvac.exceptions.InvalidPath):
            bao.secrets.kv.v2.read_secret_metadata(
                path=f"{config.store_path}/{secret.key}", mount_point="secret"
            )
    entries = asyncio.run(admin.read_secrets(config, [s.key for s in config.provided]))
    missing = missing_provided(config.provided, entries)
    assert [(m.secret.file, m.absent) for m in missing] == [
        ("sms", True),
        ("chat_slack", True),
        ("chat_telegram", True),
    ]

    # Missing: empty files, and the service starts in production with those channels off.
    rendered = tmp_path / "missing"
    _render_provided(openbao, prefix + "notifications", config, rendered)
    assert (rendered / "sms").read_text() == ""
    options: dict[str, Any] = {"_secrets_dir": rendered, "environment": "production"}
    off = NotificationsSettings(**options)
    assert (off.sms_urls(), off.sms_api_key, off.chat_count()) == ([], None, 0)
    assert off.chat_telegram_chat_id is None and off.auth_client_secret is not None

    # The administrator runs the commands the operator's status gives, with values.
    values = {
        "providers": "https://sms-1.example/acme,https://sms-2.example/acme",
        "api_key": "sk-" + "k" * 40,
        "webhook_url": "https://hooks.slack.com/services/T1/B2/" + "w" * 24,
        "bot_token": "123456:" + "t" * 35,
        "chat_id": "-1001234567890",
    }
    bao_cli = find_bao()
    assert bao_cli is not None
    env = {**os.environ, "VAULT_ADDR": openbao.addr, "VAULT_TOKEN": openbao.token}
    for item in missing:
        command = item.command("secret", config.store_path)
        for field in item.fields:
            command = command.replace(f"{field}=...", f"{field}={shlex.quote(values[field])}")
        argv = shlex.split(command)
        assert argv[:3] == ["bao", "kv", "put"]
        subprocess.run([bao_cli, *argv[1:]], env=env, check=True, capture_output=True)
    entries = asyncio.run(admin.read_secrets(config, [s.key for s in config.provided]))
    assert missing_provided(config.provided, entries) == []

    rendered = tmp_path / "provided"
    _render_provided(openbao, prefix + "notifications", config, rendered)
    on = NotificationsSettings(**_production(rendered))
    assert on.sms_urls() == ["https://sms-1.example/acme", "https://sms-2.example/acme"]
    assert on.sms_api_key is not None and on.sms_api_key.get_secret_value() == values["api_key"]
    assert on.chat_count() == 2 and on.chat_telegram_chat_id == -1001234567890

    # Only notifications reads them; no one else may even list their folder.
    for other in ("catalog", "auth"):
        with pytest.raises(hvac.exceptions.Forbidden):
            _read_as(openbao, prefix + other, f"{config.store_path}/notifications/provided/sms")
        token = bao.auth.token.create(policies=[prefix + other], ttl="10m")["auth"]
        client = hvac.Client(url=openbao.addr, token=token["client_token"])
        with pytest.raises(hvac.exceptions.Forbidden):
            client.secrets.kv.v2.list_secrets(
                path=f"{config.store_path}/notifications/provided", mount_point="secret"
            )

    # A later pass never overwrites them; a field emptied since is reported again.
    asyncio.run(admin.ensure_store(config, config.names(), auth(kube), generate))
    sms = bao.secrets.kv.v2.read_secret_version(
        path=f"{config.store_path}/notifications/provided/sms",
        mount_point="secret",
        raise_on_deleted_version=True,
    )["data"]
    assert sms["data"] == {"providers": values["providers"], "api_key": values["api_key"]}
    assert sms["metadata"]["version"] == 1
    bao.secrets.kv.v2.create_or_update_secret(
        path=f"{config.store_path}/notifications/provided/sms",
        secret={"providers": values["providers"], "api_key": ""},
        mount_point="secret",
    )
    entries = asyncio.run(admin.read_secrets(config, [s.key for s in config.provided]))
    [again] = missing_provided(config.provided, entries)
    assert again.command("secret", config.store_path) == (
        f"bao kv patch -mount=secret {config.store_path}/notifications/provided/sms api_key=..."
    )
    # An empty field is the channel off too, not a refused start.
    _render_provided(openbao, prefix + "notifications", config, rendered)
    emptied = NotificationsSettings(**_production(rendered))
    assert emptied.sms_api_key is None and emptied.sms_urls()

    # Deleting the store's secrets removes them with the rest.
    removed = asyncio.run(admin.remove_store(config, config.names(), secrets=True))
    assert f"secret {config.store_path}/notifications/provided/telegram" in removed


def _production(secrets_dir: Path) -> dict[str, Any]:
    """notifications' settings as in a cluster: production, files from ``secrets_dir``."""
    return {"_secrets_dir": secrets_dir, "environment": "production"}


def test_a_kv_version_1_mount_is_refused(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    bao = openbao.client()
    mount = f"kv1-{names.suffix}"
    bao.sys.enable_secrets_engine(backend_type="kv", path=mount, options={"version": "1"})
    try:
        config, _ = config_for(names, kv_mount=mount)
        with pytest.raises(
            TransientError, match=r"not a KV version 2 engine: set the Vault's kvMount"
        ):
            asyncio.run(
                VaultAdmin(openbao.addr, openbao.token).ensure_store(
                    config, nothing(config), auth(kube), generate
                )
            )
    finally:
        bao.sys.disable_secrets_engine(path=mount)


def test_unreachable_and_forbidden_vaults_are_transient(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    config, _ = config_for(names)
    # A port nothing listens on (the loopback discard port).
    with pytest.raises(TransientError, match=r"Vault 'default' is unreachable \(ConnectionError\)"):
        asyncio.run(
            VaultAdmin("http://127.0.0.1:9", "t", timeout=2).ensure_store(
                config, nothing(config), auth(kube), generate
            )
        )
    with pytest.raises(
        TransientError,
        match=r"Vault 'eu' answered 403 to list secrets engines: give the operator's token",
    ):
        asyncio.run(
            VaultAdmin(openbao.addr, "not-a-token", name="eu").ensure_store(
                config, nothing(config), auth(kube), generate
            )
        )


# Stores whose readable "<namespace>-<name>" share a prefix (default/shop and
# default/shop-eu) or spell the same (store/a-b and store-a/b). Before the digest
# and the recorded names, a pass over the first deleted the second's roles
# (clean-up by prefix), or both wrote the same roles and overwrote each other.
NEIGHBOURS = [
    pytest.param(StoreRef("shop", "default"), StoreRef("shop-eu", "default"), id="shop-vs-shop-eu"),
    pytest.param(StoreRef("a-b", "store"), StoreRef("b", "store-a"), id="store/a-b-vs-store-a/b"),
    pytest.param(StoreRef("shop-eu", "default"), StoreRef("shop", "default"), id="shop-eu-vs-shop"),
]


def generate_for(store: StoreRef, secret: GeneratedSecret) -> dict[str, Any]:
    return generate_secret(secret, store)


def _role(bao: hvac.Client, mount: str, name: str) -> dict[str, Any]:
    body = bao.auth.kubernetes.read_role(name, mount_point=mount)
    data: dict[str, Any] = body.get("data") or body
    return data


@pytest.mark.parametrize(("one", "other"), NEIGHBOURS)
def test_a_store_never_touches_its_neighbours_roles(
    openbao: OpenBao, kube: KubeApiserver, names: Names, one: StoreRef, other: StoreRef
) -> None:
    admin = VaultAdmin(openbao.addr, openbao.token)
    bao = openbao.client()
    configs = {}
    for store in (one, other):
        config, _ = config_for(names, store=store)
        configs[store] = config
        asyncio.run(
            admin.ensure_store(config, nothing(config), auth(kube), partial(generate_for, store))
        )
    mine, theirs = configs[one], configs[other]
    assert not set(mine.names().roles) & set(theirs.names().roles)

    # Another pass over the first store, with catalog disabled: it removes its
    # own catalog role and policy, exactly, and nothing of the neighbour's.
    fewer, _ = config_for(names, {"services.catalog.enabled": False}, store=one)
    changes = asyncio.run(
        admin.ensure_store(fewer, mine.names(), auth(kube), lambda s: generate_secret(s, one))
    )
    (catalog,) = (name for name in mine.names().roles if name.endswith("-catalog"))
    assert changes.removed == [f"role {catalog}", f"policy {catalog}"]
    roles = set(bao.auth.kubernetes.list_roles(mount_point=names.mount)["keys"])
    policies = set(bao.sys.list_acl_policies()["data"]["keys"])
    assert set(theirs.names().roles) <= roles
    assert set(theirs.names().policies) <= policies
    # Each role still binds its own store's ServiceAccount in its own namespace.
    for role in theirs.roles:
        current = _role(bao, names.mount, role.name)
        assert current["bound_service_account_namespaces"] == [other.namespace]
        assert current["bound_service_account_names"] == [role.service_account]

    # Deleting the first store removes its names and leaves the neighbour whole.
    removed = asyncio.run(admin.remove_store(fewer, mine.names(), secrets=True))
    assert {r for r in removed if not r.startswith("secret ")} == {
        f"role {name}" for name in fewer.names().roles
    } | {f"policy {name}" for name in fewer.names().policies}
    assert set(theirs.names().roles) <= set(
        bao.auth.kubernetes.list_roles(mount_point=names.mount)["keys"]
    )
    assert set(theirs.names().policies) <= set(bao.sys.list_acl_policies()["data"]["keys"])
    assert bao.secrets.kv.v2.read_secret_metadata(
        path=f"{theirs.store_path}/auth/cassandra", mount_point="secret"
    )
    for key in theirs.secret_keys():
        with contextlib.suppress(hvac.exceptions.VaultError):
            bao.secrets.kv.v2.delete_metadata_and_all_versions(
                path=f"{theirs.store_path}/{key}", mount_point="secret"
            )


def test_old_scheme_names_are_removed_exactly_once(
    openbao: OpenBao, kube: KubeApiserver, names: Names
) -> None:
    """A store an older operator configured (names <prefix>-<ns>-<name>-<service>, no
    record): its pass removes exactly those names, not default/shop-eu's."""
    bao = openbao.client()
    shop, shop_eu = StoreRef("shop", "default"), StoreRef("shop-eu", "default")
    config, _ = config_for(names, store=shop)
    asyncio.run(VaultAdmin(openbao.addr, openbao.token).ensure_store(
        config, nothing(config), auth(kube), generate
    ))  # fmt: skip
    old = {
        store: [f"{names.prefix}-{store.namespace}-{store.name}-{s}" for s in IMPLEMENTED_SERVICES]
        for store in (shop, shop_eu)
    }
    for name in old[shop] + old[shop_eu]:
        bao.sys.create_or_update_acl_policy(name, 'path "x" {\n  capabilities = ["read"]\n}\n')
        bao.auth.kubernetes.create_role(
            name,
            bound_service_account_names=["x"],
            bound_service_account_namespaces=["default"],
            mount_point=names.mount,
        )
    legacy = tuple(f"{names.prefix}-default-shop-{s}" for s in (*IMPLEMENTED_SERVICES, "analytics"))
    changes = asyncio.run(
        VaultAdmin(openbao.addr, openbao.token).ensure_store(
            config, VaultNames(names.mount, legacy, legacy), auth(kube), generate
        )
    )
    # "analytics" never existed: only what was there is reported.
    assert sorted(changes.removed) == sorted(
        [f"role {n}" for n in old[shop]] + [f"policy {n}" for n in old[shop]]
    )
    roles = set(bao.auth.kubernetes.list_roles(mount_point=names.mount)["keys"])
    assert set(old[shop_eu]) <= roles and not set(old[shop]) & roles
    assert set(config.names().roles) <= roles


class _NoisyVault(http.server.BaseHTTPRequestHandler):
    """A server that answers every request with a 500 carrying a detail of its own."""

    def _answer(self) -> None:
        body = json.dumps({"errors": [f"{MARKER} internal at 10.0.0.7:5432"]}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # http.server dispatches on do_<METHOD>.
    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        return


MARKER = "remote-body-7f3a"


@pytest.fixture
def noisy_vault() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoisyVault)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_what_a_vault_answered_never_reaches_the_message(
    noisy_vault: str, kube: KubeApiserver, names: Names, caplog: pytest.LogCaptureFixture
) -> None:
    """The message goes into the store's status and events: it names the Vault, the
    status and the operation, and the server's words go to the operator's log only."""
    config, _ = config_for(names)
    with caplog.at_level(logging.WARNING), pytest.raises(TransientError) as excinfo:
        asyncio.run(
            VaultAdmin(noisy_vault, "t", timeout=5).ensure_store(
                config, nothing(config), auth(kube), generate
            )
        )
    message = str(excinfo.value)
    assert message == "Vault 'default' answered 500 to list secrets engines"
    assert MARKER not in message and "10.0.0.7" not in message
    assert MARKER in caplog.text


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no system CA signed, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "noisy-vault")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "vault.crt", directory / "vault.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_is_verified_against_the_configured_ca(
    tmp_path: Path, kube: KubeApiserver, names: Names
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoisyVault)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = f"https://127.0.0.1:{server.server_address[1]}"
    config, _ = config_for(names)
    try:
        # Verified by default: a certificate no trusted CA signed is refused, and said so.
        with pytest.raises(TransientError, match="TLS verification failed"):
            asyncio.run(
                VaultAdmin(address, "t", timeout=5).ensure_store(
                    config, nothing(config), auth(kube), generate
                )
            )
        # The Vault's configured CA file makes the same server trusted.
        with pytest.raises(TransientError, match="answered 500 to list secrets engines"):
            asyncio.run(
                VaultAdmin(address, "t", verify=str(cert_file), timeout=5).ensure_store(
                    config, nothing(config), auth(kube), generate
                )
            )
    finally:
        server.shutdown()
        server.server_close()
