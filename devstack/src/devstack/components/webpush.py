"""The Web Push stand-in (devstack.webpush_sandbox) as a devstack component.

A browser's push service (Mozilla's autopush, Google's FCM, Apple's) and the
browser behind it are third parties; on devstack one process of ours plays
both on loopback: it issues subscriptions (keeping their private keys, as a
browser does), checks each push's VAPID JWT and decrypts its payload, and
records the plaintext for tests (``GET /messages``). It holds no credentials:
the application server's VAPID key is the notifications service's.

Options (context options or environment): ``webpush.port`` /
``PRODUCTSTORE_WEBPUSH_PORT`` moves it off 8173 (a test runs a private one).
"""

from __future__ import annotations

from devstack.stand_in import HOST, StandIn

# 8170 payments, 8171 chat, 8172 SMS, 8173 Web Push.
DEFAULT_PORT = 8173


class WebPushSandbox(StandIn):
    """A push service and browser stand-in: subscriptions, VAPID checks, decryption."""

    name = "webpush"
    description = (
        f"Web Push service stand-in (VAPID checked, payloads decrypted) on {HOST}:{DEFAULT_PORT}"
    )
    default = True
    app_factory = "devstack.webpush_sandbox.app:create_app"
    default_port = DEFAULT_PORT
    start_hint = f"read the log (`devstack logs webpush`); check that port {DEFAULT_PORT} is free"

    def env(self) -> dict[str, str]:
        return {"WEBPUSH_SANDBOX_URL": self.url}
