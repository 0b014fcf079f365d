"""Step SecretsReady: the store's Vault mount, auth method, policies, roles, secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from productstore_operator.builders.vault import GeneratedSecret
from productstore_operator.config import ConfigError
from productstore_operator.io import KubernetesAuth, TransientError, VaultAdmin, generate_secret
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import RETRY_SECONDS, Event, StepResult
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import REVIEWER_TOKEN_SECONDS, Runtime


def _kubernetes_auth(runtime: Runtime) -> KubernetesAuth:
    settings = runtime.config.vault_auth
    reviewer_jwt: Callable[[], str] | None = None
    if settings.reviewer_service_account is not None:
        namespace, name = settings.reviewer_service_account

        def reviewer_jwt() -> str:
            return runtime.kube.service_account_token_now(namespace, name, REVIEWER_TOKEN_SECONDS)

    return KubernetesAuth(
        host=settings.kubernetes_host,
        ca_pem=runtime.kubernetes_ca_pem,
        reviewer_jwt=reviewer_jwt,
        refresh_seconds=REVIEWER_TOKEN_SECONDS / 2,
    )


def admin_for(plan: Plan, runtime: Runtime) -> VaultAdmin:
    """The Vault client for the store's Vault, with the operator's current token."""
    try:
        token = runtime.config.read_vault_token()
    except ConfigError as exc:
        raise TransientError(str(exc)) from exc
    return runtime.vault.admin(plan.spec.vault.address, token)


async def ensure_secrets(ctx: PassContext) -> StepResult:
    """Make Vault hold the store's configuration; never overwrite a secret."""
    plan, runtime = ctx.plan, ctx.runtime
    address = plan.spec.vault.address
    try:
        admin = admin_for(plan, runtime)

        def generate(secret: GeneratedSecret) -> dict[str, Any]:
            return generate_secret(secret, plan.store)

        changes = await admin.ensure_store(
            plan.vault, plan.role_prefix, _kubernetes_auth(runtime), generate
        )
    except TransientError as exc:
        return StepResult.failed(
            "VaultUnavailable", f"{exc}; the operator retries in {RETRY_SECONDS:.0f}s"
        )
    events: list[Event] = []
    if changes.created_secrets:
        events.append(
            Event(
                "Normal",
                "SecretsGenerated",
                f"generated {', '.join(changes.created_secrets)} under "
                f"{plan.vault.kv_mount}/{plan.vault.store_path}",
            )
        )
    if changes.written_roles or changes.written_policies or changes.removed:
        written = len(changes.written_roles) + len(changes.written_policies)
        removed = f", removed {', '.join(changes.removed)}" if changes.removed else ""
        events.append(
            Event("Normal", "VaultConfigured", f"wrote {written} Vault roles/policies{removed}")
        )
    return StepResult.ready(
        "SecretsInPlace",
        f"{len(plan.vault.roles)} Kubernetes-auth roles at {address} (auth/"
        f"{plan.vault.auth_mount}); secrets under {plan.vault.kv_mount}/{plan.vault.store_path}",
        events,
    )
