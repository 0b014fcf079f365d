"""schemathesis against a notifications service of this module's own (uvicorn on a
loopback port, the module's keyspace), as an administrator: no 5xx, only documented
answers, invalid input refused."""

from __future__ import annotations

import schemathesis

from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.main import create_app
from tests.catalog.support import AuthServer, serve_in_thread
from tests.notifications.mobile import new_vapid_key
from tests.notifications.support import admin_token
from tests.schemathesis.conftest import run_schema


def test_notifications_conform_to_their_openapi(
    settings: NotificationsSettings, notify_auth: AuthServer
) -> None:
    # With a VAPID key, so the devices routes answer (without one they are 503 by design).
    update = {"consume_orders": False, "vapid_private_key": new_vapid_key()}
    app = create_app(settings.model_copy(update=update))
    token = admin_token(notify_auth)
    with serve_in_thread(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        calls, failures = run_schema(schema, url, {"Authorization": f"Bearer {token}"})
    assert calls > 50
    assert not failures, "\n\n".join(failures)
