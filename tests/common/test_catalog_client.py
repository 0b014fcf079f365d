"""The catalog's product read, against devstack's real catalog."""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from devstack.components.nginx import Nginx
from devstack.components.services import AuthService, CatalogService
from productstore_common.catalog_client import CalleeUnavailable, read_product
from tests.support.gateway import admin_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_product_is_read_with_its_price_and_a_missing_one_is_none(
    catalog_service: CatalogService, auth_service: AuthService, nginx: Nginx
) -> None:
    admin = {"Authorization": f"Bearer {admin_token(auth_service, nginx.url)}"}
    slug = f"client-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=catalog_service.url, timeout=30) as catalog:
        made = await catalog.post(
            "/api/categories", json={"slug": slug, "name": slug}, headers=admin
        )
        assert made.status_code == 201, made.text
        body = {
            "name": f"Kettle {slug}",
            "description": "A product the catalog client reads.",
            "category": slug,
            "price": "12.50",
            "currency": "EUR",
            "attributes": {},
            "image_urls": [],
            "in_stock": True,
        }
        created = await catalog.post("/api/products", json=body, headers=admin)
        assert created.status_code == 201, created.text
        product_id = uuid.UUID(created.json()["id"])
        try:
            product = await read_product(catalog, product_id)
            assert await read_product(catalog, uuid.uuid4()) is None
        finally:
            await catalog.delete(f"/api/products/{product_id}", headers=admin)
            await catalog.delete(f"/api/categories/{slug}", headers=admin)
    assert product is not None
    assert (product.product_id, product.name, str(product.price), product.currency) == (
        product_id,
        body["name"],
        "12.50",
        "EUR",
    )
    assert product.in_stock


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
