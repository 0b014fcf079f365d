"""Reading traces from Jaeger's HTTP query API (the one its UI uses)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import httpx

# Jaeger's own pipeline traces itself; it says nothing about the store.
IGNORED_SERVICES = frozenset({"jaeger", "jaeger-all-in-one"})


def services(client: httpx.Client, among: Collection[str] | None = None) -> list[str]:
    """The services Jaeger has traces of (only those `among`, when given)."""
    response = client.get("/api/services")
    response.raise_for_status()
    known = set(response.json()["data"] or ()) - IGNORED_SERVICES
    return sorted(known if among is None else known & set(among))


def traces(
    client: httpx.Client, names: Sequence[str], *, lookback: str, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` recent traces per service, each once (a trace crossing services is
    found under each of them)."""
    found: dict[str, dict[str, Any]] = {}
    for service in names:
        response = client.get(
            "/api/traces", params={"service": service, "lookback": lookback, "limit": limit}
        )
        response.raise_for_status()
        for trace in response.json()["data"] or ():
            found.setdefault(trace["traceID"], trace)
    return list(found.values())


def trace(client: httpx.Client, trace_id: str) -> dict[str, Any] | None:
    response = client.get(f"/api/traces/{trace_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data = response.json()["data"] or [None]
    found: dict[str, Any] | None = data[0]
    return found
