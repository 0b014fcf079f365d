"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.core.errors import invalid_query
from productstore_catalog.app.services.catalog import Catalog
from productstore_catalog.app.services.search import ProductSearch
from productstore_common.auth import AdminUser, OptionalPrincipal
from productstore_common.kit import provide

__all__ = [
    "AdminUser",
    "CatalogDep",
    "IfMatch",
    "OptionalPrincipal",
    "SearchDep",
    "SettingsDep",
]


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
    if not text.isdigit():
        raise invalid_query(
            f"If-Match must be an ETag this API issued (a quoted number), got {if_match!r}"
        )
    return int(text)


CatalogDep = Annotated[Catalog, Depends(provide(Catalog))]
SearchDep = Annotated[ProductSearch, Depends(provide(ProductSearch))]
SettingsDep = Annotated[CatalogSettings, Depends(provide(CatalogSettings))]
IfMatch = Annotated[int | None, Depends(_if_match)]
