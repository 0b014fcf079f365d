"""The SMS provider stand-in (devstack.sms_sandbox) as a devstack component.

SMS providers are third parties; on devstack one process of ours stands in for
any number of them (the first path segment names the provider), on loopback
only, so the notifications service's SMS failover chain runs for real: a test
makes one provider fail (``PUT /<account>/fault``) and reads what arrived
(``GET /messages``). Its API key is generated once into the state directory
(mode 0600) and kept across restarts. Messages live in the process's memory.

Options (context options or environment): ``sms.port`` / ``PRODUCTSTORE_SMS_PORT``
moves it off 8172 (a test runs a private one).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from devstack.stand_in import HOST, StandIn

# 8170 payments, 8171 chat, 8172 SMS, 8173 Web Push.
DEFAULT_PORT = 8172
# The providers devstack's notifications service is given, in failover order.
ACCOUNTS = ("primary", "backup")


class SmsSandbox(StandIn):
    """An SMS provider API stand-in that records messages and fails on demand."""

    name = "sms"
    description = (
        f"SMS provider stand-in (failover accounts, faults on demand) on {HOST}:{DEFAULT_PORT}"
    )
    default = True
    app_factory = "devstack.sms_sandbox.app:create_app"
    default_port = DEFAULT_PORT
    start_hint = f"read the log (`devstack logs sms`); check that port {DEFAULT_PORT} is free"

    @property
    def api_key_file(self) -> Path:
        return self.state_dir / "api-key"

    def api_key(self) -> str:
        return self.api_key_file.read_text().strip()

    def provider_urls(self) -> list[str]:
        """The base URL of each account, in failover order."""
        return [f"{self.url}/{account}" for account in ACCOUNTS]

    # --- hooks -------------------------------------------------------------
    def prepare(self) -> None:
        super().prepare()
        self.keep_secret(self.api_key_file, lambda: "sms_test_" + secrets.token_hex(24))

    def process_env(self) -> dict[str, str]:
        return {"SMS_SANDBOX_API_KEY_FILE": str(self.api_key_file)}

    def env(self) -> dict[str, str]:
        """Where the stand-in is and the file holding its key (never the value)."""
        return {
            "SMS_SANDBOX_URL": self.url,
            "SMS_SANDBOX_API_KEY_FILE": str(self.api_key_file),
        }
