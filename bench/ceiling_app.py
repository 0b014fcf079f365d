"""The benchmark's ceiling: a bare FastAPI endpoint returning a small JSON object.

Served by uvicorn exactly as devstack serves the services (same arguments and
worker count) behind the same nginx proxy settings, so product reads divided
by this is the share of the machine's HTTP ceiling the catalog reaches.
"""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(title="ceiling", openapi_url=None)

    @app.get("/item")
    async def item() -> dict[str, object]:
        return {
            "id": "5f0c6a4e-6f1e-4d4b-9a57-2d0f6f7f3c11",
            "name": "ceiling",
            "price": "9.99",
            "in_stock": True,
        }

    return app
