"""schemathesis against a wishlist service of this module's own (uvicorn on a loopback
port, the module's keyspace and neighbours), as a signed-in user: no 5xx, only
documented answers, invalid input refused. The shared services' runs are
tests/schemathesis; this one starts nothing shared."""

from __future__ import annotations

import schemathesis

from productstore_wishlist.app.core.config import WishlistSettings
from productstore_wishlist.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.schemathesis.conftest import run_schema


def test_wishlists_conform_to_their_openapi(settings: WishlistSettings, tokens: Tokens) -> None:
    # The API alone: this app shares the module's consumer groups with none.
    api_only = settings.model_copy(update={"consume_events": False})
    with serve_in_thread(create_app(api_only)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        calls, failures = run_schema(schema, url, {"Authorization": f"Bearer {tokens.user}"})
    assert calls > 100
    assert not failures, "\n\n".join(failures)
