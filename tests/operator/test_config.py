"""load_config: flags over PRODUCTSTORE_OPERATOR_* variables, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from productstore_operator.config import ConfigError, load_config

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


def test_environment_fills_what_flags_leave_out_and_flags_win() -> None:
    env = {
        "PRODUCTSTORE_OPERATOR_NAMESPACES": "a, b",
        "PRODUCTSTORE_OPERATOR_RESYNC_SECONDS": "15",
        "PRODUCTSTORE_OPERATOR_VAULT_REVIEWER_SERVICE_ACCOUNT": "vault/reviewer",
        "PRODUCTSTORE_OPERATOR_MONITORING_NAMESPACE": "",
        "HELM": "/opt/helm",
        "KUBECONFIG": "/tmp/kubeconfig",
        "VAULT_TOKEN": "from-env",
    }
    config = load_config(["--resync-seconds", "30"], env)
    assert config.namespaces == ("a", "b")
    assert config.resync_seconds == 30
    assert config.vault_auth.reviewer_service_account == ("vault", "reviewer")
    assert config.settings.monitoring_namespace is None
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
