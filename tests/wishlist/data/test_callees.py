"""The wishlist's calls to catalog and orders when the callee is not there: a
CalleeUnavailable naming it (the routes turn it into a 503 with Retry-After)."""

from __future__ import annotations

import socket
import uuid

import pytest

from productstore_wishlist.app.data.callees import Callees, CalleeUnavailable

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_an_unreachable_callee_is_named() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with Callees(url, url, timeout=2.0) as callees:
        with pytest.raises(CalleeUnavailable) as catalog:
            await callees.product(uuid.uuid4())
        with pytest.raises(CalleeUnavailable) as orders:
            await callees.put_in_cart("token", uuid.uuid4(), 1)
    assert (catalog.value.callee, orders.value.callee) == ("catalog", "orders")
    assert "ConnectError" in str(catalog.value)
