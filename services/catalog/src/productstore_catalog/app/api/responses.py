"""OpenAPI entries for the problems a catalog route can answer (see productstore_common.openapi)."""

from __future__ import annotations

from typing import Any

from productstore_common.openapi import problems as _problems

# The catalog's 400s are about cursors and query parameters.
_DESCRIPTIONS = {400: "A bad cursor or contradictory parameters"}


def problems(*statuses: int, **overrides: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route; descriptions may be overridden as `s409="..."`."""
    return _problems(*statuses, descriptions=_DESCRIPTIONS, **overrides)
