"""OpenAPI entries for the problems a route can answer (all `application/problem+json`)."""

from __future__ import annotations

from typing import Any

from productstore_common.errors import PROBLEM_CONTENT_TYPE

_PROBLEM = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}

_DESCRIPTIONS = {
    400: "A bad cursor or contradictory parameters",
    401: "Missing, invalid or expired credentials",
    403: "Authenticated, but not allowed",
    404: "No such resource",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version (ETag)",
    422: "Invalid body, query or path parameter (`errors` lists each)",
    429: "Too many attempts; see Retry-After",
    503: "A dependency is unavailable; see Retry-After",
}


def problems(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as a problem.

    Descriptions may be overridden as `s409="..."`.
    """
    return {
        status: {
            "description": descriptions.get(f"s{status}", _DESCRIPTIONS[status]),
            "content": {PROBLEM_CONTENT_TYPE: _PROBLEM},
        }
        for status in statuses
    }
