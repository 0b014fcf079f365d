"""The Slack webhook URL and the Telegram bot token go from the store's Vault keys
to the Secret its AlertmanagerConfig reads, and follow Vault; a Secret the operator
did not make is left alone. On devstack: the operator process, OpenBao and the
apiserver."""

from __future__ import annotations

import base64
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from productstore_operator.builders.alerting import SLACK_SECRET_KEY, TELEGRAM_SECRET_KEY
from productstore_operator.builders.meta import MANAGED_BY
from tests.operator.handlers.support import Harness, devstack_spec, wait_for

STORE = "shop"
SECRET = f"{STORE}-alerting"
SLACK_KEY = "alerting/slack"
TELEGRAM_KEY = "alerting/telegram"
TOKEN = "123456:first-telegram-token"
FIRST = "http://127.0.0.1:8171/services/T000/B000/first-secret"
ROTATED = "http://127.0.0.1:8171/services/T000/B000/rotated-secret"


def _write_webhook(h: Harness, url: str) -> None:
    _write(h, SLACK_KEY, {"webhookUrl": url})


def _write(h: Harness, key: str, data: dict[str, str]) -> None:
    h.openbao.client().secrets.kv.v2.create_or_update_secret(
        path=f"{h.box.kv_path}/{h.box.namespace}/{STORE}/{key}",
        secret=data,
        mount_point="secret",
    )


def _secret(h: Harness) -> Any:
    """The Secret (the client's model), or None."""
    try:
        return client.CoreV1Api(h.box.api).read_namespaced_secret(SECRET, h.box.namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _webhook(h: Harness) -> str | None:
    return _secret_value(h, SLACK_SECRET_KEY)


def _secret_value(h: Harness, key: str) -> str | None:
    found = _secret(h)
    if found is None or key not in (found.data or {}):
        return None
    return base64.b64decode(found.data[key]).decode()


def _secrets_message(h: Harness) -> str:
    condition = h.box.condition(STORE, "SecretsReady")
    assert condition is not None
    message: str = condition["message"]
    return message


def test_the_slack_webhook_secret_follows_vault(h: Harness) -> None:
    spec = devstack_spec(h.box, h.openbao)
    assert spec["observability"]["alerting"]["slack"]["vaultKey"] == SLACK_KEY
    _write_webhook(h, FIRST)
    h.box.apply_store(STORE, spec)
    store = h.box.wait_ready(STORE)

    assert wait_for("the Secret from Vault", lambda: _webhook(h)) == FIRST
    secret = _secret(h)
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == MANAGED_BY
    # The store owns it: deleting the store garbage-collects it.
    assert [ref.uid for ref in secret.metadata.owner_references] == [store["metadata"]["uid"]]
    assert f"is in Secret {SECRET}" in _secrets_message(h)
    h.box.wait_events(STORE, {"AlertingSecretWritten"})

    # Rotated in Vault: a later pass (resync 5 s) copies it.
    _write_webhook(h, ROTATED)
    wait_for("the rotated URL", lambda: _webhook(h) == ROTATED or None)

    # The Telegram bot token joins it once it is in Vault.
    assert spec["observability"]["alerting"]["telegram"]["vaultKey"] == TELEGRAM_KEY
    assert "no botToken in Vault at" in _secrets_message(h)
    _write(h, TELEGRAM_KEY, {"botToken": TOKEN})
    assert wait_for("the token", lambda: _secret_value(h, TELEGRAM_SECRET_KEY)) == TOKEN
    assert _webhook(h) == ROTATED

    # No Slack receiver any more: its key leaves the Secret, Telegram's stays ...
    h.box.patch_spec(STORE, {"observability": {"alerting": {"slack": None}}})
    wait_for("the URL removed", lambda: (_secret(h) is not None and _webhook(h) is None) or None)
    assert _secret_value(h, TELEGRAM_SECRET_KEY) == TOKEN
    # ... and with no receiver at all the operator's Secret goes.
    h.box.patch_spec(STORE, {"observability": {"alerting": {"telegram": None}}})
    wait_for("the Secret removed", lambda: _secret(h) is None or None)
    h.box.wait_events(STORE, {"AlertingSecretRemoved"})

    # An administrator's Secret of that name is theirs: the operator leaves it.
    client.CoreV1Api(h.box.api).create_namespaced_secret(
        h.box.namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name=SECRET),
            string_data={SLACK_SECRET_KEY: FIRST},
        ),
    )
    h.box.patch_spec(STORE, {"observability": {"alerting": {"slack": {"vaultKey": SLACK_KEY}}}})
    wait_for(
        "the administrator's Secret noticed",
        lambda: "was not made by the operator" in _secrets_message(h) or None,
    )
    assert _webhook(h) == FIRST
    assert not (_secret(h).metadata.labels or {})


def test_without_the_url_in_vault_the_store_is_ready_and_says_so(h: Harness) -> None:
    h.box.apply_store(STORE, devstack_spec(h.box, h.openbao))
    h.box.wait_ready(STORE)
    assert "no webhookUrl in Vault at" in _secrets_message(h)
    assert _secret(h) is None
