"""The Slack webhook URL, from the store's Vault key into the Secret its
AlertmanagerConfig reads (``<store>-alerting``, key ``slackWebhookUrl``; ADR 0025).

Part of the secrets step: Vault is where the store's secrets are, and the
AlertmanagerConfig that the release step installs names this Secret. Level,
not edge: every pass compares the Secret with Vault, so a URL rotated in Vault
reaches the Secret on the next pass. A Secret of that name that the operator
did not make (an administrator's, from before) is left alone; a store without
a Slack receiver has the operator's Secret removed. The store owns the Secret,
so deleting the store garbage-collects it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from productstore_operator.builders.alerting import (
    SLACK_SECRET_KEY,
    SLACK_VAULT_FIELD,
    build_slack_secret,
    slack_secret_name,
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


async def sync_slack_secret(
    plan: Plan, runtime: Runtime, admin: VaultAdmin
) -> tuple[str, list[Event]]:
    """Make the Secret hold what Vault holds. A sentence for the step's message (empty
    when the store has no Slack receiver) and the events of what changed."""
    slack = plan.spec.observability.alerting.slack
    namespace, name = plan.store.namespace, slack_secret_name(plan.store)
    live = await runtime.kube.get_secret(namespace, name)
    ours = live is not None and _made_here(live, plan)
    if slack is None:
        if not ours:
            return "", []
        await runtime.kube.delete_secret(namespace, name)
        return "", [Event("Normal", "AlertingSecretRemoved", f"removed Secret {name}: no Slack")]
    if live is not None and not ours:
        return f"; Secret {name} was not made by the operator: left as it is", []
    where = f"{plan.vault.kv_mount}/{plan.vault.store_path}/{slack.vault_key}"
    found = await admin.read_secrets(plan.vault, [slack.vault_key])
    url = found.get(slack.vault_key, {}).get(SLACK_VAULT_FIELD)
    if not isinstance(url, str) or not url:
        return (
            f"; no {SLACK_VAULT_FIELD} in Vault at {where} yet: Slack gets no alerts until "
            "an administrator writes it there",
            [],
        )
    body = build_slack_secret(plan.store, url)
    body["metadata"]["ownerReferences"] = [owner_reference(plan)]
    written = await _apply(runtime, live, body)
    return f"; the Slack webhook URL from {where} is in Secret {name}", written


async def _apply(
    runtime: Runtime, live: Mapping[str, Any] | None, body: dict[str, Any]
) -> list[Event]:
    metadata = body["metadata"]
    if live is None:
        await runtime.kube.create_secret(body)
        return [Event("Normal", "AlertingSecretWritten", f"wrote Secret {metadata['name']}")]
    if (live.get("data") or {}).get(SLACK_SECRET_KEY) == body["data"][SLACK_SECRET_KEY]:
        return []
    await runtime.kube.patch_secret(
        metadata["namespace"],
        metadata["name"],
        {"metadata": {"labels": metadata["labels"]}, "data": body["data"]},
    )
    return [Event("Normal", "AlertingSecretWritten", f"updated Secret {metadata['name']}")]
