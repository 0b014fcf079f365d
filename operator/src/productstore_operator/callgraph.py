"""Who calls whom over HTTP: the one table every network rule derives from.

The AuthorizationPolicies, NetworkPolicies and the chart's ``allowedCallers``
all come from ``CALLS``, so adding a call means adding one line here. Kafka
flows (OrderPlaced, PriceChanged, ...) are not HTTP calls and are absent on
purpose: a consumer never opens a connection to the producer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from productstore_operator.models import SERVICE_NAMES

# The ingress gateway: outside traffic enters through it only.
GATEWAY: Final = "gateway"

# caller -> the services it calls (planned services included: their calls are designed).
CALLS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Every service has a public API under /api/<...>.
        GATEWAY: frozenset(SERVICE_NAMES),
        # Every service fetches auth's JWKS and its service-to-service tokens.
        "auth": frozenset(),
        "catalog": frozenset({"auth"}),
        # Prices at checkout, stock checks before a reservation.
        "orders": frozenset({"auth", "catalog", "inventory"}),
        "inventory": frozenset({"auth"}),
        # Product details of the wished items.
        "wishlist": frozenset({"auth", "catalog"}),
        "reviews": frozenset({"auth"}),
        "notifications": frozenset({"auth"}),
        "analytics": frozenset({"auth"}),
        # Product details of the recommended items.
        "recommendations": frozenset({"auth", "catalog"}),
    }
)

# Everything that may appear as a caller, in a stable order.
CALLERS: Final = (GATEWAY, *SERVICE_NAMES)


def callers_of(service: str) -> tuple[str, ...]:
    """Every caller (gateway or service) of ``service``, in CALLERS order."""
    if service not in SERVICE_NAMES:
        raise KeyError(f"unknown service {service!r}; services are {', '.join(SERVICE_NAMES)}")
    return tuple(caller for caller in CALLERS if service in CALLS[caller])


def allowed_callers(service: str, enabled: Iterable[str]) -> dict[str, bool]:
    """Every possible caller of ``service`` mapped to whether it may call.

    Only callers that run are allowed; the map names every caller so that it
    replaces, rather than merges into, a default (the chart merges maps).
    """
    running = {GATEWAY, *enabled}
    calling = set(callers_of(service))
    return {caller: caller in calling and caller in running for caller in CALLERS}


def unmet_calls(enabled: Iterable[str]) -> list[str]:
    """One message per call from an enabled service to a disabled one."""
    running = set(enabled)
    return [
        f"{caller} calls {callee}, but services.{callee}.enabled is false: "
        f"enable {callee} or disable {caller}"
        for caller in SERVICE_NAMES
        if caller in running
        for callee in SERVICE_NAMES
        if callee in CALLS[caller] and callee not in running
    ]
