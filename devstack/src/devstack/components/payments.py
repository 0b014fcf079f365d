"""The payment provider sandbox (devstack.payments_sandbox) as a devstack component.

Product Store's payment providers are third parties; on devstack this server of
ours stands in for one, on loopback only, with test tokens whose behaviour is
fixed. It needs no other component and is not behind the gateway: services call
a provider directly, as they would a real one. Its API key and webhook signing
secret are generated once into its state directory (mode 0600) and kept across
restarts, so a client configured with the files keeps working; `devstack down
--purge` removes them. Its payments live in the process's memory.

Options (context options or environment): ``payments.port`` /
``PRODUCTSTORE_PAYMENTS_PORT`` moves it off 8170 (a test runs a private one).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from devstack.stand_in import HOST, StandIn

# 81xx are the services' ports (8101 auth, 8102 catalog, the next ones for the
# next services); 8190/8191 are the operator's. 8170 is the sandbox's.
DEFAULT_PORT = 8170
# Quick retries, so a test sees a webhook retried and given up within seconds:
# attempts after 0.25, 0.5 and 1 s.
WEBHOOK_MAX_ATTEMPTS = 4
WEBHOOK_BACKOFF_SECONDS = 0.25
# tok_slow answers after 1 s, under a client's timeout (the common client's default is
# 10 s); tok_timeout holds its answer 30 s, beyond any client's.
SLOW_SECONDS = 1.0
TIMEOUT_HOLD_SECONDS = 30.0


class PaymentsSandbox(StandIn):
    """A payment provider's sandbox (authorise, capture, refund, void, signed webhooks)."""

    name = "payments"
    description = (
        f"payment provider sandbox (test tokens, signed webhooks) on {HOST}:{DEFAULT_PORT}"
    )
    default = True
    app_factory = "devstack.payments_sandbox.app:create_app"
    default_port = DEFAULT_PORT
    # tok_timeout's held answers must not keep a stop waiting 30 s.
    graceful_shutdown_seconds = 1.0
    start_hint = f"read the log (`devstack logs payments`); check that port {DEFAULT_PORT} is free"

    @property
    def api_key_file(self) -> Path:
        return self.state_dir / "api-key"

    @property
    def webhook_secret_file(self) -> Path:
        return self.state_dir / "webhook-secret"

    def api_key(self) -> str:
        return self.api_key_file.read_text().strip()

    def webhook_secret(self) -> bytes:
        return self.webhook_secret_file.read_text().strip().encode()

    # --- hooks -------------------------------------------------------------
    def prepare(self) -> None:
        super().prepare()
        self.keep_secret(self.api_key_file, lambda: "sk_test_" + secrets.token_hex(24))
        self.keep_secret(self.webhook_secret_file, lambda: "whsec_" + secrets.token_hex(24))

    def process_env(self) -> dict[str, str]:
        env = {
            "API_KEY_FILE": str(self.api_key_file),
            "WEBHOOK_SECRET_FILE": str(self.webhook_secret_file),
            "WEBHOOK_MAX_ATTEMPTS": str(WEBHOOK_MAX_ATTEMPTS),
            "WEBHOOK_BACKOFF_SECONDS": str(WEBHOOK_BACKOFF_SECONDS),
            "SLOW_SECONDS": str(SLOW_SECONDS),
            "TIMEOUT_HOLD_SECONDS": str(TIMEOUT_HOLD_SECONDS),
        }
        return {f"PAYMENTS_SANDBOX_{k}": v for k, v in env.items()}

    def env(self) -> dict[str, str]:
        """Where the sandbox is and the files holding its credentials (never the values)."""
        return {
            "PAYMENTS_SANDBOX_URL": self.url,
            "PAYMENTS_SANDBOX_API_KEY_FILE": str(self.api_key_file),
            "PAYMENTS_SANDBOX_WEBHOOK_SECRET_FILE": str(self.webhook_secret_file),
        }
