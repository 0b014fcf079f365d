"""Product search (`GET /api/products/search`): full text, filters, facets, cursor pages.

Registered before the products router, whose `/{product_id}` would take "search".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from productstore_catalog.app.api.deps import (
    AdminUser,
    NoResultSearchesDep,
    SearchPagesDep,
    SettingsDep,
)
from productstore_catalog.app.api.responses import problems
from productstore_catalog.app.core.errors import invalid_cursor, invalid_query
from productstore_catalog.app.models import (
    SLUG_PATTERN,
    NoResultQuery,
    NoResultReport,
    SearchPage,
)
from productstore_catalog.search import InvalidCursor, SearchQuery, SortBy

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
    pages: SearchPagesDep,
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
    in_stock: Annotated[
        bool | None,
        Query(
            description="Only products in stock (true) or out of stock (false): inventory's "
            "`available > 0` once it has a stock level for the product, else what an "
            "admin set; follows stock changes within seconds (see `in_stock` on Product)"
        ),
    ] = None,
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
    # A page cached for this query string was answered before the router
    # (api/cached_reads); this one was not there.
    try:
        page = pages.render(request.scope["query_string"], query)
    except InvalidCursor as exc:
        raise invalid_cursor(
            f"{exc} Pass `next_cursor` of the previous page unchanged, with the same parameters."
        ) from None
    return Response(page, media_type="application/json")


@router.get(
    "/search/no-results",
    response_model=NoResultReport,
    responses=problems(
        400, 401, 403, 503, s400="`days` is more than the days kept (the detail says how many)"
    ),
    summary="Searches that found nothing (admins)",
)
async def searches_without_results(
    *,
    admin: AdminUser,
    recorded: NoResultSearchesDep,
    days: Annotated[
        int,
        Query(
            ge=1,
            le=31,
            description="Whole UTC days up to today to add up (1: today only); at most the "
            "days kept (8 unless configured)",
        ),
    ] = 1,
    limit: Annotated[int, Query(ge=1, le=100, description="How many queries")] = 20,
) -> NoResultReport:
    """The words of first-page searches that matched no product, most frequent first,
    normalised as they are recorded (case-folded, whitespace collapsed). Recorded
    within `CATALOG_SEARCH_NO_RESULTS_FLUSH_SECONDS` of the search; each day keeps
    its most frequent texts only (`CATALOG_SEARCH_NO_RESULTS_KEPT`) and is kept
    `CATALOG_SEARCH_NO_RESULTS_RETENTION_DAYS` days, the most `days` may ask for.
    Searches without words (filters only) are not listed. Redis down: 503."""
    retention = recorded.log.retention_days
    if days > retention:
        raise invalid_query(
            f"days is {days} but searches without results are kept {retention} days: "
            f"ask for 1 to {retention}."
        )
    today = recorded.today()
    top = await recorded.log.top(days=days, limit=limit, today=today)
    return NoResultReport(
        since=today - dt.timedelta(days=days - 1),
        until=today,
        queries=[NoResultQuery(query=text, searches=count) for text, count in top],
    )
