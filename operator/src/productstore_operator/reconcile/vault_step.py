"""Step SecretsReady: the store's Vault mount, auth method, policies, roles, secrets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from productstore_operator.builders.naming import component_name
from productstore_operator.builders.vault import (
    PROVIDED_ANNOTATION,
    GeneratedSecret,
    MissingProvided,
    VaultNames,
    missing_provided,
    provided_digests,
)
from productstore_operator.config import ConfigError
from productstore_operator.io import KubernetesAuth, TransientError, VaultAdmin, generate_secret
from productstore_operator.models import VaultStatus
from productstore_operator.reconcile.alerting_secret import sync_alerting_secret
from productstore_operator.reconcile.context import PassContext
from productstore_operator.reconcile.outcome import RETRY_SECONDS, Event, StepResult
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import REVIEWER_TOKEN_SECONDS, Runtime

log = logging.getLogger(__name__)


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
    """The client of the configured Vault the store names, with the operator's current token.

    Address, TLS and token all come from the operator's configuration; the
    store's spec only chose the name (checked when the plan was made).
    """
    name = plan.vault.vault_name
    server = runtime.config.vault(name)
    if server is None:
        raise TransientError(f"Vault '{name}' is not in the operator's configuration")
    try:
        token = runtime.config.read_vault_token(server)
    except ConfigError as exc:
        raise TransientError(str(exc)) from exc
    return runtime.vault.admin(name, server.address, token, verify=server.verify)


async def remove_recorded(status: VaultStatus | None, runtime: Runtime) -> list[str]:
    """Delete the names ``status`` recorded, without a plan (the spec no longer builds one).

    Nothing when nothing was recorded or the recorded Vault is no longer configured.
    """
    if status is None:
        return []
    server = runtime.config.vault(status.name)
    if server is None:
        log.warning("recorded Vault %r is not configured: its names stay", status.name)
        return []
    try:
        token = runtime.config.read_vault_token(server)
    except ConfigError as exc:
        raise TransientError(str(exc)) from exc
    admin = runtime.vault.admin(server.name, server.address, token, verify=server.verify)
    names = VaultNames(status.auth_mount, tuple(status.roles), tuple(status.policies))
    return await admin.remove_names(names)


def recorded_names(status: VaultStatus | None, plan: Plan) -> VaultNames:
    """The names earlier passes recorded in status.vault, in the store's Vault.

    A store without a record was last reconciled by an operator that recorded
    nothing: its names are the old scheme's, exactly.
    """
    if status is None:
        return plan.legacy_vault
    if status.name != plan.vault.vault_name:
        # The operator's configuration renamed its Vaults: the recorded names are
        # in a Vault this store no longer reaches; leave them rather than guess.
        log.warning(
            "store %s/%s recorded Vault names in %r, now uses %r: not removing them",
            plan.store.namespace,
            plan.store.name,
            status.name,
            plan.vault.vault_name,
        )
        return VaultNames(plan.vault.auth_mount)
    return VaultNames(status.auth_mount, tuple(status.roles), tuple(status.policies))


def _record(plan: Plan, names: VaultNames) -> VaultStatus:
    return VaultStatus(
        name=plan.vault.vault_name,
        auth_mount=names.auth_mount,
        roles=list(names.roles),
        policies=list(names.policies),
    )


async def ensure_secrets(ctx: PassContext) -> StepResult:
    """Make Vault hold the store's configuration; never overwrite a secret."""
    plan, runtime = ctx.plan, ctx.runtime
    recorded = recorded_names(ctx.vault, plan)
    planned = plan.vault.names()
    try:
        admin = admin_for(plan, runtime)

        def generate(secret: GeneratedSecret) -> dict[str, Any]:
            return generate_secret(secret, plan.store)

        changes = await admin.ensure_store(
            plan.vault, recorded, _kubernetes_auth(runtime), generate
        )
    except TransientError as exc:
        # Some of the planned names may exist now: keep them with the old ones, so
        # a later pass or the finalizer removes whatever is there. Recorded roles in
        # another auth mount (the configuration moved it) stay recorded as they are;
        # the finalizer adds the planned names anyway.
        same_mount = recorded.auth_mount == planned.auth_mount
        ctx.vault = _record(plan, planned.union(recorded) if same_mount else recorded)
        return StepResult.failed(
            "VaultUnavailable", f"{exc}; the operator retries in {RETRY_SECONDS:.0f}s"
        )
    ctx.vault = _record(plan, planned)
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
    if changes.wrote_service_clients:
        clients = ", ".join(c.client_id for c in plan.vault.service_clients) or "none"
        events.append(
            Event(
                "Normal",
                "ServiceClientsWritten",
                f"auth's service clients are now: {clients} (auth reads them when it starts)",
            )
        )
    if changes.written_roles or changes.written_policies or changes.removed:
        written = len(changes.written_roles) + len(changes.written_policies)
        removed = f", removed {', '.join(changes.removed)}" if changes.removed else ""
        events.append(
            Event("Normal", "VaultConfigured", f"wrote {written} Vault roles/policies{removed}")
        )
    try:
        alerting, secret_events = await sync_alerting_secret(plan, runtime, admin)
    except TransientError as exc:
        return StepResult.failed(
            "AlertingSecretFailed",
            f"the alerting Secret: {exc}; the operator retries in {RETRY_SECONDS:.0f}s",
            events,
        )
    try:
        entries = await admin.read_secrets(plan.vault, [s.key for s in plan.vault.provided])
    except TransientError as exc:
        return StepResult.failed(
            "VaultUnavailable", f"{exc}; the operator retries in {RETRY_SECONDS:.0f}s", events
        )
    missing = missing_provided(plan.vault.provided, entries)
    provided_events = _report_provided(plan, runtime, missing)
    _roll_on_change(plan, entries)
    return StepResult.ready(
        "SecretsInPlace",
        f"{len(plan.vault.roles)} Kubernetes-auth roles in Vault '{plan.vault.vault_name}' "
        f"(auth/{plan.vault.auth_mount}); secrets under "
        f"{plan.vault.kv_mount}/{plan.vault.store_path}{alerting}{_provided_note(plan, missing)}",
        [*events, *secret_events, *provided_events],
    )


def _roll_on_change(plan: Plan, entries: dict[str, dict[str, Any]]) -> None:
    """Stamp a digest of the provided entries on their readers' pod template.

    The services read them at start: an administrator's write changes the digest,
    so the values, so the release's stamp, and the upgrade rolls the pods. No
    annotation while none exists, so a store that never has them never rolls.
    """
    for service, digest in provided_digests(plan.vault.provided, entries, plan.uid).items():
        values = plan.values["services"][service]
        values["podAnnotations"] = {**values.get("podAnnotations", {}), PROVIDED_ANNOTATION: digest}


def _commands(plan: Plan, missing: list[MissingProvided]) -> str:
    return "; ".join(
        f"{item.secret.reader} {item.secret.file}: `"
        f"{item.command(plan.vault.kv_mount, plan.vault.store_path)}`"
        for item in missing
    )


def _provided_note(plan: Plan, missing: list[MissingProvided]) -> str:
    """The condition's words on third parties' credentials an administrator owes.

    Not a failure: the services start without them, the channel off (ADR 0039).
    """
    if not missing:
        return ""
    services = sorted({item.secret.reader for item in missing})
    restart = ", ".join(
        f"kubectl rollout restart deployment/{component_name(plan.store, name)}"
        for name in services
    )
    return (
        f"; not provided yet, so those channels are off: {_commands(plan, missing)} "
        f"(the operator rolls {', '.join(services)} when they change, as `{restart}` would)"
    )


def _report_provided(plan: Plan, runtime: Runtime, missing: list[MissingProvided]) -> list[Event]:
    """A Warning when what is missing changed (not on every pass), Normal once complete."""
    said = _commands(plan, missing)
    before = runtime.provided_reported.get(plan.uid)
    runtime.provided_reported[plan.uid] = said
    if said == before:
        return []
    if missing:
        return [
            Event(
                "Warning",
                "CredentialsNotProvided",
                f"third parties' credentials an administrator writes are missing, those "
                f"channels are off until then: {said}",
            )
        ]
    if before:
        return [
            Event(
                "Normal",
                "CredentialsProvided",
                "every third party's credential is in Vault now; the services that read "
                "them roll to use them",
            )
        ]
    return []
