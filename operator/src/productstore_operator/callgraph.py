"""Who calls whom over HTTP: the one table every network rule derives from.

The AuthorizationPolicies, NetworkPolicies and the chart's ``allowedCallers``
all come from ``CALLS``, which comes from the services' descriptors
(productstore_contracts.services: each names the services it calls), so a new
call is one word in one descriptor. Kafka flows (OrderPlaced, PriceChanged, ...)
are not HTTP calls and are absent on purpose: a consumer never opens a
connection to the producer. A planned service without a descriptor calls nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from productstore_contracts.services import DESCRIPTORS
from productstore_operator.models import SERVICE_NAMES

# The ingress gateway: outside traffic enters through it only.
GATEWAY: Final = "gateway"

_DESCRIBED_CALLS = {descriptor.name: descriptor.calls for descriptor in DESCRIPTORS}

# caller -> the services it calls.
CALLS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Every service has a public API under /api/<...>.
        GATEWAY: frozenset(SERVICE_NAMES),
        **{name: _DESCRIBED_CALLS.get(name, frozenset()) for name in SERVICE_NAMES},
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
