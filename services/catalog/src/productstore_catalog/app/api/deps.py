"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header

from productstore_catalog.app.api.search_pages import SearchPages
from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.core.errors import invalid_query
from productstore_catalog.app.services.catalog import Catalog
from productstore_catalog.app.services.no_results import NoResultSearches
from productstore_catalog.app.services.reads import CatalogReads
from productstore_common.auth import AdminUser, OptionalPrincipal
from productstore_common.kit import provide

__all__ = [
    "AdminUser",
    "CatalogDep",
    "IfMatch",
    "NoResultSearchesDep",
    "OptionalPrincipal",
    "ReadsDep",
    "SearchPagesDep",
    "SettingsDep",
]


# ASCII digits only: str.isdigit() also says yes to "²" (a header's bytes are
# Latin-1 to the server), and int() then raised: a 500 instead of a 400.
_VERSION = re.compile(r"[0-9]{1,20}")


async def _if_match(
    if_match: Annotated[
        str | None,
        Header(
            max_length=64,
            description='Optional: the product\'s ETag (`"<version>"`); the write is refused '
            "with 412 when the product changed since",
            examples=['"1764165600123456"'],
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(text):
        raise invalid_query(
            f"If-Match must be an ETag this API issued (a quoted number), got {if_match!r}"
        )
    return int(text)


CatalogDep = Annotated[Catalog, Depends(provide(Catalog))]
ReadsDep = Annotated[CatalogReads, Depends(provide(CatalogReads))]
NoResultSearchesDep = Annotated[NoResultSearches, Depends(provide(NoResultSearches))]
SearchPagesDep = Annotated[SearchPages, Depends(provide(SearchPages))]
SettingsDep = Annotated[CatalogSettings, Depends(provide(CatalogSettings))]
IfMatch = Annotated[int | None, Depends(_if_match)]
