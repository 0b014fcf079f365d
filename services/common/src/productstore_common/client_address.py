"""The client's address, as the gateway saw it: one rule for every service.

A service behind a gateway sees the gateway as its peer. The gateway says who
the client was in one header, `X-Client-Address`, which it sets from the
address of the connection it accepted (nginx: `proxy_set_header
X-Client-Address $remote_addr;`), replacing whatever the client sent. A
service believes that header only when the connection comes from one of its
`TRUSTED_PROXIES` (the gateway's addresses, or 127.0.0.6 for a mesh sidecar);
from anyone else the client is the peer itself. `X-Forwarded-For` is never
read: every hop appends to it, so its first entries are whatever the client
wrote (a fresh fake address per login attempt got a fresh rate-limit bucket).

This needs uvicorn's own proxy-header handling off (`--no-proxy-headers`):
with it on, uvicorn replaces the peer address with one taken from
`X-Forwarded-For` before the app sees the connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request

CLIENT_ADDRESS_HEADER = "X-Client-Address"
UNKNOWN = "unknown"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    """The networks whose `X-Client-Address` is believed (settings' `trusted_proxies`)."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> TrustedProxies:
        return cls(tuple(ipaddress.ip_network(item, strict=False) for item in items))

    def trust(self, host: str) -> bool:
        if not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


NO_PROXIES = TrustedProxies()


def _normalised(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: Request) -> str:
    """The client's IP address (normalised), or "unknown" without a peer.

    The peer's, unless the peer is a trusted proxy that sent exactly one valid
    `X-Client-Address`; a trusted proxy that sent none (a sidecar passing an
    internal call) or a malformed one leaves the peer's, so such requests share
    the proxy's budget rather than choose their own.
    """
    peer = request.client.host if request.client else ""
    # `create_app` parses the settings' list once into app.state.
    proxies = getattr(request.app.state, "trusted_proxies", NO_PROXIES)
    if isinstance(proxies, TrustedProxies) and proxies.trust(peer):
        claimed = request.headers.getlist(CLIENT_ADDRESS_HEADER)
        if len(claimed) == 1:
            address = _normalised(claimed[0])
            if address is not None:
                return address
    return _normalised(peer) or UNKNOWN
