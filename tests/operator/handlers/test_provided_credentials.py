"""Third parties' credentials an administrator writes (ADR 0039): a store without them
is Ready, and SecretsReady names each with the `bao kv put` to run (a Warning event,
once); written, the next pass says so. The operator writes none of them. On devstack:
the operator process, OpenBao and the apiserver."""

from __future__ import annotations

import hvac.exceptions
import pytest

from productstore_operator.builders.vault import PROVIDED_ANNOTATION, PROVIDED_SECRETS
from tests.operator.handlers.support import Harness, deployments, devstack_spec, wait_for

STORE = "shop"


def _message(h: Harness) -> str:
    condition = h.box.condition(STORE, "SecretsReady")
    assert condition is not None and condition["status"] == "True", condition
    message: str = condition["message"]
    return message


def _stamp(h: Harness) -> str | None:
    """The digest on notifications' pod template (None: no provided entry exists)."""
    found = deployments(h.box).get(f"{STORE}-notifications")
    if found is None:
        return None
    annotations = found.spec.template.metadata.annotations or {}
    stamp: str | None = annotations.get(PROVIDED_ANNOTATION)
    return stamp


def test_missing_credentials_are_named_with_the_command_and_never_written(h: Harness) -> None:
    h.box.apply_store(STORE, devstack_spec(h.box, h.openbao))
    h.box.wait_ready(STORE)
    folder = f"{h.box.kv_path}/{h.box.namespace}/{STORE}"
    message = _message(h)
    assert (
        f"`bao kv put -mount=secret {folder}/notifications/provided/sms providers=... api_key=...`"
        in message
    )
    assert f"{folder}/notifications/provided/telegram bot_token=... chat_id=..." in message
    assert f"kubectl rollout restart deployment/{STORE}-notifications" in message
    [warning] = [
        e for e in h.box.wait_events(STORE, {"CredentialsNotProvided"}) if e.type == "Warning"
    ]
    assert "notifications/provided/slack webhook_url=..." in warning.message
    # Nothing provided: nothing to roll for.
    assert _stamp(h) is None
    bao = h.openbao.client()
    for secret in PROVIDED_SECRETS:
        with pytest.raises(hvac.exceptions.InvalidPath):
            bao.secrets.kv.v2.read_secret_metadata(
                path=f"{folder}/{secret.key}", mount_point="secret"
            )

    # The administrator writes two; the next pass (resync 5 s) names only the third.
    entries = {
        "notifications/provided/sms": {"providers": "https://sms.example/a", "api_key": "k1"},
        "notifications/provided/slack": {"webhook_url": "https://hooks.slack.com/services/x"},
    }
    for key, data in entries.items():
        bao.secrets.kv.v2.create_or_update_secret(
            path=f"{folder}/{key}", secret=data, mount_point="secret"
        )
    wait_for("only telegram named", lambda: "provided/sms" not in _message(h) or None)
    assert "provided/telegram" in _message(h)
    # The pods read them at start: the release rolls notifications' pods (only theirs).
    first = wait_for("notifications' pods stamped", lambda: _stamp(h))
    catalog = deployments(h.box)[f"{STORE}-catalog"].spec.template.metadata.annotations or {}
    assert PROVIDED_ANNOTATION not in catalog
    bao.secrets.kv.v2.create_or_update_secret(
        path=f"{folder}/notifications/provided/telegram",
        secret={"bot_token": "1:abc", "chat_id": "-100"},
        mount_point="secret",
    )
    wait_for("nothing named", lambda: "not provided" not in _message(h) or None)
    h.box.wait_events(STORE, {"CredentialsProvided"})
    second = wait_for("a new stamp", lambda: ((s := _stamp(h)) != first and s) or None)
    assert len(second) == 16 and first not in _message(h)
    # Still what the administrator wrote: a pass never overwrites them.
    sms = bao.secrets.kv.v2.read_secret_version(
        path=f"{folder}/notifications/provided/sms",
        mount_point="secret",
        raise_on_deleted_version=True,
    )["data"]
    assert (sms["data"], sms["metadata"]["version"]) == (entries["notifications/provided/sms"], 1)
