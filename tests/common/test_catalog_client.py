"""The catalog's product read, against devstack's real catalog."""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from devstack.components.services import CatalogService
from productstore_common.catalog_client import CalleeUnavailable, read_product

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_product_is_read_with_its_price_and_a_missing_one_is_none(
    catalog_service: CatalogService,
) -> None:
    async with httpx.AsyncClient(base_url=catalog_service.url, timeout=10) as catalog:
        listed = (await catalog.get("/api/products", params={"limit": 1})).json()
        expected = listed["items"][0]
        product = await read_product(catalog, uuid.UUID(expected["id"]))
        assert await read_product(catalog, uuid.uuid4()) is None
    assert product is not None
    assert (product.name, str(product.price), product.currency) == (
        expected["name"],
        str(expected["price"]),
        expected["currency"],
    )


async def test_an_unreachable_catalog_is_a_callee_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as catalog:
            with pytest.raises(CalleeUnavailable) as raised:
                await read_product(catalog, uuid.uuid4())
    assert raised.value.callee == "catalog"
    assert "ConnectError" in str(raised.value)


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_a_server_error_is_a_callee_unavailable_naming_the_status() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        async with httpx.AsyncClient(base_url=url, timeout=5) as catalog:
            with pytest.raises(CalleeUnavailable, match="answered 500"):
                await read_product(catalog, uuid.uuid4())
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
