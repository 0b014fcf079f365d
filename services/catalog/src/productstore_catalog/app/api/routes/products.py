"""Products: everyone reads, admins write."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from productstore_catalog.app.api.cached_reads import product_cache_read
from productstore_catalog.app.api.deps import AdminUser, CatalogDep, IfMatch, ReadsDep
from productstore_catalog.app.api.responses import problems
from productstore_catalog.app.models import (
    SLUG_PATTERN,
    ProductCreate,
    ProductPublic,
    ProductsPage,
    ProductUpdate,
)
from productstore_catalog.app.services.catalog import ProductRecord, product_json

router = APIRouter(prefix="/api/products", tags=["products"])

# OpenAPI 3.1 requires a header object's `schema` (or `content`): client generators need it.
_ETAG_HEADER = {
    "ETag": {
        "description": "The product's version; send it as If-Match to write safely",
        "schema": {"type": "string"},
    }
}


@router.get(
    "",
    response_model=ProductsPage,
    responses=problems(400, s400="The cursor is not one this API issued"),
    summary="List products, a page at a time",
)
async def list_products(
    reads: ReadsDep,
    category: Annotated[
        str | None,
        Query(max_length=64, pattern=SLUG_PATTERN, description="Only this category's products"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Products per page")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page")
    ] = None,
) -> Response:
    """In storage order (not sorted: use search for ordered results)."""
    page = await reads.products_page(category=category, limit=limit, cursor=cursor)
    return _json(page)


@router.get(
    "/{product_id}",
    response_model=ProductPublic,
    responses={200: {"headers": _ETAG_HEADER}, **problems(404)},
    summary="One product",
)
async def get_product(product_id: uuid.UUID, reads: ReadsDep, request: Request) -> Response:
    # Cache hits are answered before the router (api/cached_reads), which passes
    # the cache read it made on.
    version, document = await reads.product_document(
        product_id, cached=product_cache_read(request.scope, product_id)
    )
    return Response(document, media_type="application/json", headers={"ETag": etag(version)})


@router.post(
    "",
    response_model=ProductPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403),
    summary="Create a product (admin)",
    response_description="The product; `Location` is its URL, `ETag` its version",
)
async def create_product(body: ProductCreate, admin: AdminUser, catalog: CatalogDep) -> Response:
    """The category must exist (422 otherwise). Publishes ProductCreated."""
    product = await catalog.create_product(body)
    return _written(product, status.HTTP_201_CREATED, location=f"{router.prefix}/{product.id}")


@router.patch(
    "/{product_id}",
    response_model=ProductPublic,
    responses={
        200: {"headers": _ETAG_HEADER},
        **problems(
            400,
            401,
            403,
            404,
            409,
            412,
            s409="Inventory decides `in_stock` of this product (`in_stock_from_inventory`)",
        ),
    },
    summary="Change some of a product's fields (admin)",
)
async def update_product(
    *,
    product_id: uuid.UUID,
    body: ProductUpdate,
    admin: AdminUser,
    catalog: CatalogDep,
    if_match: IfMatch,
) -> Response:
    """Members left out (or null) keep their value. Publishes ProductUpdated, and
    PriceChanged when the price or currency changed; a request that changes nothing
    writes and publishes nothing. `in_stock` can be changed only while inventory has
    no stock level for the product (409 `in_stock_from_inventory` after that)."""
    product = await catalog.update_product(product_id, body, if_match=if_match)
    return _written(product, status.HTTP_200_OK)


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 403, 404, 412),
    summary="Delete a product (admin)",
)
async def delete_product(
    product_id: uuid.UUID, admin: AdminUser, catalog: CatalogDep, if_match: IfMatch
) -> Response:
    """Publishes ProductDeleted."""
    await catalog.delete_product(product_id, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def etag(version: int) -> str:
    """A product's ETag: its version, quoted (api/cached_reads sends the same)."""
    return f'"{version}"'


# Bodies are the JSON of the routes' response models (data.documents, through the
# services layer), sent as they are: response_model still documents them.


def _json(body: bytes, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def _written(product: ProductRecord, status_code: int, *, location: str | None = None) -> Response:
    response = _json(product_json(product), status_code)
    # After the body's headers, in the order FastAPI sent them with a model.
    if location is not None:
        response.headers["Location"] = location
    response.headers["ETag"] = etag(product.version)
    return response
