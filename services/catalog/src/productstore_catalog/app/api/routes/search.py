"""Product search (`GET /api/products/search`): full text, filters, facets, cursor pages.

Registered before the products router, whose `/{product_id}` would take "search".
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from productstore_catalog.app.api.deps import SearchDep, SettingsDep
from productstore_catalog.app.api.responses import problems
from productstore_catalog.app.core.errors import invalid_cursor, invalid_query
from productstore_catalog.app.models import (
    SLUG_PATTERN,
    FacetsPublic,
    PriceBucketPublic,
    SearchPage,
)
from productstore_catalog.app.services.search import ProductSearch
from productstore_catalog.search import InvalidCursor, SearchQuery, SearchResult, SortBy

router = APIRouter(prefix="/api/products", tags=["search"])

PriceQuery = Annotated[
    Decimal | None, Query(ge=0, max_digits=12, decimal_places=2, description="Inclusive")
]


@router.get(
    "/search",
    response_model=SearchPage,
    responses=problems(
        400, s400="A cursor this API did not issue (or for other parameters), or min > max"
    ),
    summary="Search products",
)
async def search_products(
    *,
    request: Request,
    search: SearchDep,
    settings: SettingsDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Words to find in names and descriptions"),
    ] = None,
    category: Annotated[
        str | None, Query(max_length=64, pattern=SLUG_PATTERN, description="Category slug")
    ] = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    in_stock: Annotated[bool | None, Query(description="Only (un)available products")] = None,
    min_rating: Annotated[
        float | None, Query(ge=0, le=5, description="Inclusive; unrated products never match")
    ] = None,
    sort_by: Annotated[SortBy, Query(description="Result order")] = SortBy.relevance,
    limit: Annotated[
        int | None, Query(ge=1, le=100, description="Results per page (default 20)")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=1024, description="`next_cursor` of the previous page, same parameters"),
    ] = None,
) -> Response:
    """Matches name and description words (stemmed, typo-tolerant); every filter
    narrows the results and the facets. Facets count all matches, not one page."""
    if min_price is not None and max_price is not None and min_price > max_price:
        raise invalid_query(f"min_price ({min_price}) is greater than max_price ({max_price})")
    query = SearchQuery(
        q=q.strip() or None if q is not None else None,
        category=category,
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        min_rating=min_rating,
        sort_by=sort_by,
        limit=limit or settings.search_default_limit,
        cursor=cursor,
    )
    try:
        page = search.page(
            request.scope["query_string"], query, lambda result: _page_json(search, result)
        )
    except InvalidCursor as exc:
        raise invalid_cursor(
            f"{exc} Pass `next_cursor` of the previous page unchanged, with the same parameters."
        ) from None
    return Response(page, media_type="application/json")


def _page_json(search: ProductSearch, result: SearchResult) -> bytes:
    """SearchPage's JSON, with the items spliced from the replica's product documents
    (`{...document, "score": s}`): no per-item model to build, validate and encode."""
    items = []
    for hit in result.hits:
        document = search.document(hit.id)
        if document is not None:  # always: the index and the documents change together
            score = b"null" if hit.score is None else json.dumps(hit.score).encode()
            items.append(document[:-1] + b',"score":' + score + b"}")
    facets = FacetsPublic(
        categories=result.facets.categories,
        price=[
            PriceBucketPublic(min=bucket.min, max=bucket.max, count=bucket.count)
            for bucket in result.facets.price
        ],
        in_stock=result.facets.in_stock,
    )
    return b"".join(
        (
            b'{"items":[',
            b",".join(items),
            b'],"total":',
            str(result.total).encode(),
            b',"facets":',
            facets.model_dump_json().encode(),
            b',"next_cursor":',
            json.dumps(result.next_cursor).encode(),
            b"}",
        )
    )
