"""load_config: flags over PRODUCTSTORE_OPERATOR_* variables, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from productstore_operator.builders import VaultTarget
from productstore_operator.config import ConfigError, VaultServer, load_config

CHART = Path(__file__).resolve().parents[2] / "charts" / "productstore"


def test_defaults_need_only_a_scope() -> None:
    config = load_config(["--namespace", "shop"], {})
    assert config.namespaces == ("shop",)
    assert not config.all_namespaces
    assert config.chart == CHART
    assert config.helm == "helm"
    assert config.resync_seconds == 60
    assert config.vault_auth.kubernetes_host == "https://kubernetes.default.svc"
    assert config.vault_auth.reviewer_service_account is None
    assert config.settings.cluster_domain == "cluster.local"
    assert config.allowed_registries == ("ghcr.io/productstore",)
    # No Vault unless configured: then every store is refused, none reaches a server.
    assert config.vaults == ()
    assert dict(config.settings.vault.servers) == {}
    assert config.settings.alerting.telegram_api_url is None


def test_environment_fills_what_flags_leave_out_and_flags_win() -> None:
    env = {
        "PRODUCTSTORE_OPERATOR_NAMESPACES": "a, b",
        "PRODUCTSTORE_OPERATOR_RESYNC_SECONDS": "15",
        "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT": "vault/reviewer",
        "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE": "",
        "PRODUCTSTORE_OPERATOR_RUNBOOK_BASE_URL": "https://wiki.example/runbooks/",
        "PRODUCTSTORE_OPERATOR_TELEGRAM_API_URL": "http://telegram-proxy.monitoring:8080",
        "HELM": "/opt/helm",
        "KUBECONFIG": "/tmp/kubeconfig",
        "VAULT_TOKEN": "from-env",
    }
    config = load_config(["--resync-seconds", "30"], env)
    assert config.namespaces == ("a", "b")
    assert config.resync_seconds == 30
    assert config.vault_auth.reviewer_service_account == ("vault", "reviewer")
    assert config.settings.monitoring_namespace is None
    assert config.settings.runbook_base_url == "https://wiki.example/runbooks"
    assert config.settings.alerting.telegram_api_url == "http://telegram-proxy.monitoring:8080"
    assert config.helm == "/opt/helm"
    assert config.kubeconfig == Path("/tmp/kubeconfig")
    assert config.read_vault_token() == "from-env"


def test_token_file_is_read_each_time(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    config = load_config(["--all-namespaces", "--vault-token-file", str(token)], {})
    assert config.read_vault_token() == "first"
    token.write_text("rotated\n")
    assert config.read_vault_token() == "rotated"
    token.unlink()
    with pytest.raises(ConfigError, match="cannot read the Vault token file"):
        config.read_vault_token()


def test_vaults_are_the_operators_configuration(tmp_path: Path) -> None:
    ca, token = tmp_path / "ca.pem", tmp_path / "eu-token"
    token.write_text("eu-token\n")
    vaults = [
        {"name": "default", "address": "http://127.0.0.1:8200", "insecure": True},
        {
            "name": "eu",
            "address": "https://vault.eu.example:8200",
            "podAddress": "https://vault.vault.svc:8200",
            "authMount": "k8s-eu",
            "kvMount": "kv",
            "kvPath": "stores",
            "rolePrefix": "ps",
            "caFile": str(ca),
            "tokenFile": str(token),
        },
    ]
    env = {"PRODUCTSTORE_OPERATOR_VAULTS": json.dumps(vaults), "VAULT_TOKEN": "shared"}
    config = load_config(["--all-namespaces"], env)
    local, eu = config.vaults
    assert (local.name, local.pod_address, local.verify) == ("default", local.address, False)
    assert (eu.pod_address, eu.auth_mount, eu.kv_mount, eu.kv_path, eu.role_prefix) == (
        "https://vault.vault.svc:8200", "k8s-eu", "kv", "stores", "ps",
    )  # fmt: skip
    # TLS is verified: against the configured CA, else the system's.
    assert eu.verify == str(ca)
    assert VaultServer("x", "https://x", "https://x").verify is True
    # Each Vault gets its own token when it has one, else the shared one.
    assert config.read_vault_token(eu) == "eu-token"
    assert config.read_vault_token(local) == "shared"
    assert config.vault("eu") == eu and config.vault("us") is None
    # The builders learn names and the Pods' address, no operator address or token.
    assert config.settings.vault.servers["eu"] == VaultTarget(
        name="eu",
        pod_address="https://vault.vault.svc:8200",
        auth_mount="k8s-eu",
        kv_mount="kv",
        kv_path="stores",
        role_prefix="ps",
    )


@pytest.mark.parametrize(
    ("vaults", "message"),
    [
        ("[", "--vaults is not JSON"),
        ('{"name": "default"}', "must be a JSON list"),
        ('[{"name": "default"}]', r"\[0\]\.address: Field required"),
        ('[{"name": "Bad_Name", "address": "https://v"}]', r"\[0\]\.name: String should match"),
        ('[{"name": "v", "address": "https://v", "adress": "x"}]', "Extra inputs"),
        ('[{"name": "v", "address": "vault:8200"}]', r"\[0\]\.address: String should match"),
        # The operator's token would cross the network in clear text.
        ('[{"name": "v", "address": "http://vault:8200"}]', 'plain http.* "insecure": true'),
        (
            '[{"name": "v", "address": "https://a"}, {"name": "v", "address": "https://b"}]',
            "the name 'v' is given twice",
        ),
    ],
    ids=["not-json", "not-a-list", "no-address", "bad-name", "typo", "no-scheme", "http", "twice"],
)
def test_bad_vaults_are_refused_with_the_fix(vaults: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(["--all-namespaces", "--vaults", vaults], {})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--namespace NS"),
        (["--namespace", "a", "--all-namespaces"], "not both"),
        (["--all-namespaces", "--resync-seconds", "soon"], "must be a number"),
        (["--all-namespaces", "--resync-seconds", "0"], "at least 1"),
        (["--all-namespaces", "--max-concurrent-helm", "0"], "at least 1"),
        (["--all-namespaces", "--chart", "/nonexistent"], "not a Helm chart"),
        (["--all-namespaces", "--vault-reviewer-service-account", "reviewer"], "NAMESPACE/NAME"),
        # The control plane's namespaces are never watched, by name or by kopf glob.
        (["--namespace", "kube-system"], "'kube-system' covers kube-system"),
        (["--namespace", "shop", "--namespace", "kube-*"], "covers kube-system, kube-public"),
        (["--namespace", "*"], "never acts in kube-system, kube-public, kube-node-lease"),
        (["--all-namespaces", "--allowed-registry", "https://ghcr.io/x"], "not a registry path"),
        (["--all-namespaces", "--allowed-registry", "GHCR.io"], "not a registry path"),
    ],
)
def test_bad_configuration_is_refused_with_the_fix(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(argv, {})


@pytest.mark.parametrize(
    ("argv", "env", "allowed"),
    [
        ([], {}, ("ghcr.io/productstore",)),
        ([], {"PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES": "a.example/x, b.example:5000/"},
         ("a.example/x", "b.example:5000")),
        (["--allowed-registry", "c.example/y"],
         {"PRODUCTSTORE_OPERATOR_ALLOWED_REGISTRIES": "a.example/x"}, ("c.example/y",)),
    ],
    ids=["default", "env", "flag-wins"],
)  # fmt: skip
def test_allowed_registries(argv: list[str], env: dict[str, str], allowed: tuple[str, ...]) -> None:
    assert load_config(["--all-namespaces", *argv], env).allowed_registries == allowed
