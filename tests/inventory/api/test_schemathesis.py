"""schemathesis against an inventory of this module's own (uvicorn on a loopback port,
the module's keyspace), as an administrator: no 5xx, only documented answers, invalid
input refused. The shared services' runs are tests/schemathesis; this one starts
nothing shared."""

from __future__ import annotations

import schemathesis

from productstore_inventory.app.core.config import InventorySettings
from productstore_inventory.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.schemathesis.conftest import run_schema


def test_inventory_conforms_to_its_openapi(settings: InventorySettings, tokens: Tokens) -> None:
    # Its own consumer group: not the module app's.
    app = create_app(settings.model_copy(update={"consume_orders": False}))
    with serve_in_thread(app) as url:
        document = schemathesis.openapi.from_url(f"{url}/openapi.json")
        # The stream answers for minutes by design; tests/inventory/api/test_stream_api.py
        # covers its problems (401, 403, 422, 503).
        schema = document.exclude(path="/api/inventory/stream")
        calls, failures = run_schema(schema, url, {"Authorization": f"Bearer {tokens.admin}"})
    assert calls > 100
    assert not failures, "\n\n".join(failures)
