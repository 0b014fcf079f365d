"""Whose address a request comes from: X-Client-Address from a trusted proxy only."""

from __future__ import annotations

import httpx
import pytest

from tests.common.tinyapp import build_app, settings

pytestmark = pytest.mark.anyio

# (trusted proxies, the connection's peer, headers sent, the client's address)
CASES: list[tuple[str, str, list[tuple[str, str]], str]] = [
    # The gateway's header names the client.
    ("127.0.0.1", "127.0.0.1", [("X-Client-Address", "203.0.113.7")], "203.0.113.7"),
    # X-Forwarded-For is never read, whoever sends it.
    ("127.0.0.1", "127.0.0.1", [("X-Forwarded-For", "203.0.113.7")], "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1", [("X-Real-IP", "203.0.113.7")], "127.0.0.1"),
    # From anyone but a trusted proxy the header is the client's own claim: ignored.
    ("127.0.0.1", "198.51.100.9", [("X-Client-Address", "203.0.113.7")], "198.51.100.9"),
    ("", "127.0.0.1", [("X-Client-Address", "203.0.113.7")], "127.0.0.1"),
    # A mesh: the sidecar connects from 127.0.0.6 and passes the gateway's header on.
    ("127.0.0.6", "127.0.0.6", [("X-Client-Address", "203.0.113.7")], "203.0.113.7"),
    ("127.0.0.6", "127.0.0.1", [("X-Client-Address", "203.0.113.7")], "127.0.0.1"),
    # Networks: a gateway's pod range.
    ("10.0.0.0/8,fd00::/8", "10.1.2.3", [("X-Client-Address", "203.0.113.7")], "203.0.113.7"),
    ("10.0.0.0/8,fd00::/8", "fd00::5", [("X-Client-Address", "2001:DB8::1")], "2001:db8::1"),
    # A trusted proxy that says nothing, or nothing usable: its own address.
    ("127.0.0.1", "127.0.0.1", [], "127.0.0.1"),
    ("127.0.0.1", "127.0.0.1", [("X-Client-Address", "evil, 203.0.113.7")], "127.0.0.1"),
    (
        "127.0.0.1",
        "127.0.0.1",
        [("X-Client-Address", "203.0.113.7"), ("X-Client-Address", "203.0.113.8")],
        "127.0.0.1",
    ),
]


@pytest.mark.parametrize(("trusted", "peer", "headers", "expected"), CASES)
async def test_client_address(
    trusted: str, peer: str, headers: list[tuple[str, str]], expected: str
) -> None:
    app = build_app(settings(trusted_proxies=trusted))
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://who.test") as client:
        response = await client.get("/api/whoami", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["address"] == expected
    subject = response.json()["subject"]
    assert subject == (f"ip:{expected}" if ":" not in expected else "ip:2001:db8::/64")


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValueError, match=r"PRODUCTSTORE_TRUSTED_PROXIES: .* got gateway\.local$"):
        settings(trusted_proxies="127.0.0.1,gateway.local")
