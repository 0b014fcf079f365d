"""The receivers' credentials, from the store's Vault keys into the Secret its
AlertmanagerConfig reads (``<store>-alerting``: ``slackWebhookUrl``,
``telegramBotToken``; ADR 0025).

Part of the secrets step: Vault is where the store's secrets are, and the
AlertmanagerConfig that the release step installs names this Secret. Level,
not edge: every pass compares the Secret with Vault, so a URL or token rotated in
Vault reaches the Secret on the next pass. A Secret of that name that the operator
did not make (an administrator's, from before) is left alone; a store without a
receiver, or whose receivers' keys hold nothing yet, has the operator's Secret
removed. The store owns the Secret, so deleting the store garbage-collects it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from productstore_operator.builders.alerting import (
    SLACK_SECRET_KEY,
    SLACK_VAULT_FIELD,
    TELEGRAM_SECRET_KEY,
    TELEGRAM_VAULT_FIELD,
    alerting_secret_name,
    build_alerting_secret,
)
from productstore_operator.builders.meta import MANAGED_BY
from productstore_operator.io import VaultAdmin
from productstore_operator.reconcile.outcome import Event
from productstore_operator.reconcile.plan import Plan, owner_reference
from productstore_operator.reconcile.runtime import Runtime


def _made_here(secret: Mapping[str, Any], plan: Plan) -> bool:
    found = secret["metadata"].get("labels") or {}
    return (
        found.get("app.kubernetes.io/managed-by") == MANAGED_BY
        and found.get("app.kubernetes.io/instance") == plan.store.name
    )


def _wanted(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(receiver, Vault key, Vault field, Secret key) of each receiver the store names."""
    alerting = plan.spec.observability.alerting
    wanted = []
    if alerting.slack is not None:
        wanted.append(("Slack", alerting.slack.vault_key, SLACK_VAULT_FIELD, SLACK_SECRET_KEY))
    if alerting.telegram is not None:
        wanted.append(
            ("Telegram", alerting.telegram.vault_key, TELEGRAM_VAULT_FIELD, TELEGRAM_SECRET_KEY)
        )
    return wanted


async def sync_alerting_secret(
    plan: Plan, runtime: Runtime, admin: VaultAdmin
) -> tuple[str, list[Event]]:
    """Make the Secret hold what Vault holds. A sentence for the step's message (empty
    when the store has no receiver) and the events of what changed."""
    wanted = _wanted(plan)
    namespace, name = plan.store.namespace, alerting_secret_name(plan.store)
    live = await runtime.kube.get_secret(namespace, name)
    ours = live is not None and _made_here(live, plan)
    if wanted and live is not None and not ours:
        return f"; Secret {name} was not made by the operator: left as it is", []
    found = await admin.read_secrets(plan.vault, [key for _, key, _, _ in wanted])
    values: dict[str, str] = {}
    said: list[str] = []
    for receiver, key, field, secret_key in wanted:
        where = f"{plan.vault.kv_mount}/{plan.vault.store_path}/{key}"
        value = found.get(key, {}).get(field)
        if isinstance(value, str) and value:
            values[secret_key] = value
            said.append(f"the {receiver} {field} from {where} is in Secret {name}")
        else:
            said.append(
                f"no {field} in Vault at {where} yet: {receiver} gets no alerts until an "
                "administrator writes it there"
            )
    message = "".join(f"; {sentence}" for sentence in said)
    if not values:
        if not ours:
            return message, []
        await runtime.kube.delete_secret(namespace, name)
        why = "no receiver" if not wanted else "no credential in Vault"
        return message, [Event("Normal", "AlertingSecretRemoved", f"removed Secret {name}: {why}")]
    body = build_alerting_secret(plan.store, values)
    body["metadata"]["ownerReferences"] = [owner_reference(plan)]
    return message, await _apply(runtime, live, body)


async def _apply(
    runtime: Runtime, live: Mapping[str, Any] | None, body: dict[str, Any]
) -> list[Event]:
    metadata = body["metadata"]
    if live is None:
        await runtime.kube.create_secret(body)
        return [Event("Normal", "AlertingSecretWritten", f"wrote Secret {metadata['name']}")]
    if (live.get("data") or {}) == body["data"]:
        return []
    # A replace, so a credential no longer in Vault leaves the Secret too.
    await runtime.kube.patch_secret(
        metadata["namespace"],
        metadata["name"],
        {
            "metadata": {"labels": metadata["labels"]},
            "data": {
                **{key: None for key in (live.get("data") or {}) if key not in body["data"]},
                **body["data"],
            },
        },
    )
    return [Event("Normal", "AlertingSecretWritten", f"updated Secret {metadata['name']}")]
