"""schemathesis against an orders service of this module's own (uvicorn on a loopback
port, the module's keyspace, a real catalog and inventory behind it), as an
administrator: no 5xx, only documented answers, invalid input refused. The shared
services' runs are tests/schemathesis; this one starts nothing shared."""

from __future__ import annotations

import schemathesis

from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.schemathesis.conftest import run_schema


def test_orders_conform_to_their_openapi(settings: OrdersSettings, tokens: Tokens) -> None:
    # Its own API only: no consumer moving the orders it makes.
    app = create_app(settings.model_copy(update={"consume_inventory": False}))
    with serve_in_thread(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        calls, failures = run_schema(schema, url, {"Authorization": f"Bearer {tokens.admin}"})
    assert calls > 100
    assert not failures, "\n\n".join(failures)
