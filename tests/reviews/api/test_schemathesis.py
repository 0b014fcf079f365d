"""schemathesis against a reviews service of this module's own (uvicorn on a loopback
port, the module's keyspace), as an administrator: no 5xx, only documented answers,
invalid input refused. The shared services' runs are tests/schemathesis; this one
starts nothing shared."""

from __future__ import annotations

import schemathesis

from productstore_reviews.app.core.config import ReviewsSettings
from productstore_reviews.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.schemathesis.conftest import run_schema


def test_reviews_conform_to_their_openapi(settings: ReviewsSettings, tokens: Tokens) -> None:
    with serve_in_thread(create_app(settings)) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        calls, failures = run_schema(schema, url, {"Authorization": f"Bearer {tokens.admin}"})
    assert calls > 100
    assert not failures, "\n\n".join(failures)
