"""HTTP helpers every service's tests use: a bearer header and a problem+json check."""

from __future__ import annotations

from typing import Any

import httpx

from productstore_common.errors import PROBLEM_CONTENT_TYPE


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(
    response: httpx.Response, status: int, reason: str | None = None
) -> dict[str, Any]:
    """The problem body, after checking status, media type and (if given) reason."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    if reason is not None:
        assert body.get("reason") == reason, body
    return body
