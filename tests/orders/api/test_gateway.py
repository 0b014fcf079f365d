"""Through devstack's gateway configuration, where a client goes: nginx routes
`/api/cart` and `/api/orders` (the descriptor's prefixes) to an orders service served
by uvicorn, the Idempotency-Key reaches it, and a checkout placed there is paid."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from productstore_contracts.services import ORDERS
from productstore_orders.app.core.config import OrdersSettings
from productstore_orders.app.main import create_app
from tests.catalog.support import Tokens, serve_in_thread
from tests.orders.support import Shop, bearer, checkout_body, wait_status
from tests.support.gateway import private_gateway

pytestmark = pytest.mark.anyio


async def test_a_checkout_through_the_gateway_is_paid(
    tmp_path: Path, settings: OrdersSettings, tokens: Tokens, shop: Shop
) -> None:
    product = await shop.product(price="9.99", stock=2)
    with serve_in_thread(create_app(settings)) as url:
        port = int(url.rsplit(":", 1)[1])
        with private_gateway(tmp_path, "orders", port, ORDERS.route_prefixes) as gateway:
            async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
                put = await http.put(
                    f"/api/cart/items/{product}", json={"quantity": 2}, headers=bearer(tokens.user)
                )
                assert put.status_code == 200, put.text
                headers = {**bearer(tokens.user), "Idempotency-Key": "gateway-checkout-1"}
                placed = await http.post("/api/orders", json=checkout_body(None), headers=headers)
                assert placed.status_code == 202, placed.text
                assert placed.headers["Location"] == f"/api/orders/{placed.json()['id']}"
                again = await http.post("/api/orders", json=checkout_body(None), headers=headers)
                assert again.json()["id"] == placed.json()["id"]
                paid = await wait_status(http, tokens.user, placed.json()["id"], "paid")
                assert paid["total"] in ("19.98", "19.980")
                cart = await http.get("/api/cart", headers=bearer(tokens.user))
                assert cart.json()["items"] == []
        # While the service runs: its relay publishes OrderPaid, which sells the units.
        await shop.wait_stock(product, on_hand=0, reserved=0)
