"""build_vault_config: per-service least privilege, as a table; the policies
parsed by a real OpenBao."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from devstack.components.openbao import OpenBao
from productstore_operator.builders import (
    InvalidSpecError,
    StoreRef,
    VaultSettings,
    build_vault_config,
)
from productstore_operator.builders.naming import vault_role_prefix
from productstore_operator.builders.settings import OperatorSettings
from productstore_operator.builders.vault import (
    OWNED_SECRETS,
    PROVIDED_SECRETS,
    SECRETS,
    ServiceClient,
    VaultConfig,
    missing_provided,
    provided_digests,
    provided_files,
    secret_files,
    service_clients_entry,
)
from productstore_operator.models import IMPLEMENTED_SERVICES, SERVICE_NAMES
from tests.operator.builders.support import SETTINGS, VAULTS, spec

SHOP = StoreRef("shop", "shop-ns")
STORE_DATA = "secret/data/productstore/shop-ns/shop"
STORE_METADATA = "secret/metadata/productstore/shop-ns/shop"
PREFIX = vault_role_prefix("productstore", SHOP)


def build(changes: dict[str, Any], store: StoreRef = SHOP) -> VaultConfig:
    return build_vault_config(spec(changes), store, SETTINGS)


READ = '["read"]'
# What auth's KV v2 key store needs: read the set, write it with check-and-set
# (create while absent, update to rotate). No delete, metadata or list.
OWN = '["create", "read", "update"]'
LIST = '["list"]'


@pytest.mark.parametrize(
    ("service", "rules"),
    [
        (
            "auth",
            [
                (f"{STORE_DATA}/auth/cassandra", READ),
                (f"{STORE_DATA}/auth/first-admin", READ),
                (f"{STORE_DATA}/auth/service-clients", READ),
                (f"{STORE_DATA}/auth/signing-keys", OWN),
            ],
        ),
        (
            "notifications",
            [
                (f"{STORE_DATA}/notifications/cassandra", READ),
                (f"{STORE_DATA}/notifications/unsubscribe", READ),
                (f"{STORE_DATA}/notifications/vapid", READ),
                (f"{STORE_DATA}/notifications/auth-client", READ),
                # Third parties' credentials an administrator writes (ADR 0039): read
                # on each entry, list on their folder only (names, no values).
                (f"{STORE_DATA}/notifications/provided/sms", READ),
                (f"{STORE_DATA}/notifications/provided/slack", READ),
                (f"{STORE_DATA}/notifications/provided/telegram", READ),
                (f"{STORE_METADATA}/notifications/provided/", LIST),
            ],
        ),
        (
            "catalog",
            [
                (f"{STORE_DATA}/catalog/cassandra", READ),
                (f"{STORE_DATA}/catalog/search-cursor", READ),
            ],
        ),
    ],
)
def test_policy_grants_exactly_the_own_paths(service: str, rules: list[tuple[str, str]]) -> None:
    config = build({})
    policy = next(p for p in config.policies if p.name == f"{PREFIX}{service}")
    expected = "".join(f'path "{path}" {{\n  capabilities = {caps}\n}}\n' for path, caps in rules)
    assert policy.hcl == expected
    assert "*" not in policy.hcl and "+" not in policy.hcl


@pytest.mark.parametrize("service", IMPLEMENTED_SERVICES)
def test_role_binds_the_service_account(service: str) -> None:
    config = build({})
    role = next(r for r in config.roles if r.name == f"{PREFIX}{service}")
    assert role.api_body() == {
        "bound_service_account_names": [f"shop-{service}"],
        "bound_service_account_namespaces": ["shop-ns"],
        "token_policies": [role.name],
        "token_ttl": "1h",
        "token_max_ttl": "24h",
    }


@pytest.mark.parametrize(
    ("changes", "store", "attribute", "expected"),
    [
        ({}, SHOP, "store_path", "productstore/shop-ns/shop"),
        ({"vault.name": "eu"}, SHOP, "store_path", "stores/eu/shop-ns/shop"),
        ({}, StoreRef("shop", "other"), "store_path", "productstore/other/shop"),
        ({}, SHOP, "kv_mount", "secret"),
        ({"vault.name": "eu"}, SHOP, "kv_mount", "kv"),
        ({}, SHOP, "auth_mount", "kubernetes"),
        ({"vault.name": "eu"}, SHOP, "auth_mount", "k8s-east"),
        ({"vault.name": "eu"}, SHOP, "vault_name", "eu"),
    ],
)
def test_paths(changes: dict[str, Any], store: StoreRef, attribute: str, expected: str) -> None:
    assert getattr(build(changes, store), attribute) == expected


def test_secret_path_is_the_kv_v2_data_path() -> None:
    config = build({"vault.name": "eu"})
    assert config.secret_path() == "kv/data/stores/eu/shop-ns/shop"
    assert config.data_path("auth/signing-keys") == (
        "kv/data/stores/eu/shop-ns/shop/auth/signing-keys"
    )


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        (VAULTS, r"spec\.vault\.name 'us' is not a Vault .* it knows are 'default', 'eu'"),
        ({}, r"spec\.vault\.name 'us' is not a Vault .* it has none"),
    ],
    ids=["names-the-known-ones", "none-configured"],
)
def test_an_unknown_vault_name_is_refused(servers: Any, message: str) -> None:
    settings = OperatorSettings(vault=VaultSettings(servers=servers))
    with pytest.raises(InvalidSpecError, match=message):
        build_vault_config(spec({"vault.name": "us"}), SHOP, settings)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, list(IMPLEMENTED_SERVICES)),
        (
            {"services.catalog.enabled": False},
            ["auth", "orders", "inventory", "wishlist", "reviews", "notifications"],
        ),
    ],
    ids=["unbuilt-services-off", "catalog-off"],
)
def test_disabled_services_get_no_role(changes: dict[str, Any], expected: list[str]) -> None:
    config = build(changes)
    names = [role.name.removeprefix(PREFIX) for role in config.roles]
    assert names == expected
    assert [p.name for p in config.policies] == [r.name for r in config.roles]


def test_role_prefix_and_ttls() -> None:
    settings = OperatorSettings(
        vault=VaultSettings(token_ttl="5m", token_max_ttl="1h", servers=VAULTS)
    )
    config = build_vault_config(spec({"vault.name": "eu"}), SHOP, settings)
    role = config.roles[0]
    digest = hashlib.sha256(b"shop-ns/shop").hexdigest()[:16]
    assert role.name == f"ps-shop-ns-shop-{digest}-auth"
    assert (role.token_ttl, role.token_max_ttl) == ("5m", "1h")


# Stores whose "<namespace>-<name>" share a prefix or spell the same: the old
# names (<prefix>-<namespace>-<name>-<service>) collided or matched each other's
# prefix, and clean-up by prefix deleted the other store's roles.
NEIGHBOURS = [
    (StoreRef("shop", "default"), StoreRef("shop-eu", "default")),
    (StoreRef("a-b", "store"), StoreRef("b", "store-a")),
    (StoreRef("shop", "elsewhere"), StoreRef("shop", "shop-ns")),
]


@pytest.mark.parametrize(("one", "other"), NEIGHBOURS, ids=lambda s: f"{s.namespace}/{s.name}")
def test_two_stores_share_no_path_role_or_prefix(one: StoreRef, other: StoreRef) -> None:
    first, second = build({}, one), build({}, other)
    assert first.store_path != second.store_path
    names = [{r.name for r in c.roles} | {p.name for p in c.policies} for c in (first, second)]
    assert not names[0] & names[1]
    for mine, theirs in ((one, names[1]), (other, names[0])):
        assert not any(n.startswith(vault_role_prefix("productstore", mine)) for n in theirs)


def test_generated_and_owned_secrets() -> None:
    # The operator generates each service's Cassandra credentials, catalog's
    # search cursor key and notifications' unsubscribe and VAPID keys; auth owns its keys.
    # (from the services' descriptors)
    assert [(s.key, s.kind, s.fields, s.readers) for s in SECRETS] == [
        *((f"{n}/cassandra", "cassandra-credentials", (), (n,)) for n in SERVICE_NAMES),
        ("auth/first-admin", "random", ("password",), ("auth",)),
        ("catalog/search-cursor", "random", ("key",), ("catalog",)),
        ("notifications/unsubscribe", "random", ("key",), ("notifications",)),
        ("notifications/vapid", "random", ("private_key",), ("notifications",)),
        # notifications asks auth for service tokens; auth reads the derived list.
        ("notifications/auth-client", "random", ("secret",), ("notifications",)),
        ("auth/service-clients", "service-clients", ("clients",), ("auth",)),
    ]
    assert [(s.key, s.owner) for s in OWNED_SECRETS] == [("auth/signing-keys", "auth")]
    # Delete removes every one of them; Retain keeps them all.
    assert build({}).secret_keys() == [
        *(f"{n}/cassandra" for n in SERVICE_NAMES),
        "auth/first-admin",
        "catalog/search-cursor",
        "notifications/unsubscribe",
        "notifications/vapid",
        "notifications/auth-client",
        "auth/service-clients",
        "auth/signing-keys",
        "notifications/provided/sms",
        "notifications/provided/slack",
        "notifications/provided/telegram",
    ]
    # Each service's /vault/secrets/cassandra is its own role, never another's.
    # A generated file another service reads is listed empty (the chart skips it).
    unread = {
        "first_admin": "",
        "search_cursor": "",
        "unsubscribe": "",
        "vapid": "",
        "auth_client": "",
        "service": "",
    }
    assert secret_files("catalog") == {
        **unread,
        "cassandra": "catalog/cassandra",
        "search_cursor": "catalog/search-cursor",
    }
    assert secret_files("notifications") == {
        **unread,
        "cassandra": "notifications/cassandra",
        "unsubscribe": "notifications/unsubscribe",
        "vapid": "notifications/vapid",
        "auth_client": "notifications/auth-client",
    }
    # auth reads its client list (AUTH_SERVICE_CLIENTS), never a client's own secret.
    assert secret_files("auth") == {
        **unread,
        "cassandra": "auth/cassandra",
        "first_admin": "auth/first-admin",
        "service": "auth/service-clients",
    }
    assert secret_files("orders") == {**unread, "cassandra": "orders/cassandra"}
    with pytest.raises(KeyError, match="unknown service 'payments'"):
        secret_files("payments")


def test_provided_secrets_are_the_notifications_third_parties() -> None:
    assert [(s.key, s.file, s.reader, s.fields) for s in PROVIDED_SECRETS] == [
        ("notifications/provided/sms", "sms", "notifications", ("providers", "api_key")),
        ("notifications/provided/slack", "chat_slack", "notifications", ("webhook_url",)),
        (
            "notifications/provided/telegram",
            "chat_telegram",
            "notifications",
            ("bot_token", "chat_id"),
        ),
    ]
    # The operator writes none of them: they are not among what it generates.
    assert not {s.key for s in PROVIDED_SECRETS} & {s.key for s in SECRETS}
    assert provided_files("notifications") == {
        "sms": "notifications/provided/sms",
        "chat_slack": "notifications/provided/slack",
        "chat_telegram": "notifications/provided/telegram",
    }
    assert provided_files("catalog") == {}
    # Only enabled services' provided secrets are checked.
    assert build({}).provided == PROVIDED_SECRETS
    assert build({"services.notifications.enabled": False}).provided == ()


def test_a_missing_provided_secret_says_the_command_that_writes_it() -> None:
    config = build({})
    entries = {
        # Complete.
        "notifications/provided/slack": {"webhook_url": "https://hooks.slack.com/services/T/B/x"},
        # A field missing, another empty: both are what the service would not use.
        "notifications/provided/telegram": {"bot_token": " ", "other": "x"},
    }
    missing = missing_provided(config.provided, entries)
    assert [(m.secret.file, m.fields, m.absent) for m in missing] == [
        ("sms", ("providers", "api_key"), True),
        ("chat_telegram", ("bot_token", "chat_id"), False),
    ]
    commands = [m.command(config.kv_mount, config.store_path) for m in missing]
    assert commands == [
        "bao kv put -mount=secret productstore/shop-ns/shop/notifications/provided/sms "
        "providers=... api_key=...",
        "bao kv patch -mount=secret productstore/shop-ns/shop/notifications/provided/telegram "
        "bot_token=... chat_id=...",
    ]
    complete = {
        "notifications/provided/sms": {"providers": "https://sms.example/a", "api_key": "k"},
        "notifications/provided/slack": {"webhook_url": "https://hooks.slack.com/services/x"},
        "notifications/provided/telegram": {"bot_token": "1:a", "chat_id": "-100"},
    }
    assert missing_provided(config.provided, complete) == []


def test_the_roll_stamp_changes_with_the_entries_and_tells_nothing_of_them() -> None:
    config = build({})
    assert provided_digests(config.provided, {}, "uid-1") == {}
    sms = {"notifications/provided/sms": {"providers": "https://a", "api_key": "k1"}}
    [first] = provided_digests(config.provided, sms, "uid-1").values()
    assert len(first) == 16 and "k1" not in first
    assert provided_digests(config.provided, sms, "uid-1") == {"notifications": first}
    rotated = {"notifications/provided/sms": {"providers": "https://a", "api_key": "k2"}}
    assert provided_digests(config.provided, rotated, "uid-1")["notifications"] != first
    # Another store with the same key gets another stamp.
    assert provided_digests(config.provided, sms, "uid-2")["notifications"] != first


def test_openbao_accepts_every_policy(openbao: OpenBao) -> None:
    vault = openbao.client()
    names = []
    try:
        for policy in build({}, StoreRef("shop", f"ns-{uuid.uuid4().hex[:8]}")).policies:
            vault.sys.create_or_update_policy(name=policy.name, policy=policy.hcl)
            names.append(policy.name)
            stored = vault.sys.read_policy(name=policy.name)["data"]["rules"]
            assert stored == policy.hcl
    finally:
        for name in names:
            vault.sys.delete_policy(name=name)


def test_auths_client_list_names_the_enabled_clients_that_have_a_secret() -> None:
    clients = build({}).service_clients
    assert clients == (ServiceClient("notifications", "notifications/auth-client", ("auth",)),)
    assert build({"services": {"notifications": {"enabled": False}}}).service_clients == ()
    entry = service_clients_entry(clients, {"notifications/auth-client": {"secret": "s" * 43}})
    assert json.loads(entry["clients"]) == {
        "notifications": {"secret": "s" * 43, "audiences": ["auth"]}
    }
    # A secret not written yet (or emptied by hand) is not listed with an empty value.
    for missing in ({}, {"notifications/auth-client": {"secret": ""}}):
        assert service_clients_entry(clients, missing) == {"clients": "{}"}
