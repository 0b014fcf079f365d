"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from productstore_catalog.app.core.config import CatalogSettings
from productstore_catalog.app.core.errors import invalid_query
from productstore_catalog.app.services.catalog import Catalog
from productstore_catalog.app.services.search import ProductSearch
from productstore_common.auth import AdminUser, OptionalPrincipal

__all__ = [
    "AdminUser",
    "CatalogDep",
    "IfMatch",
    "OptionalPrincipal",
    "SearchDep",
    "Services",
    "SettingsDep",
]


@dataclass(frozen=True)
class Services:
    """What the routes use, built once per process by the app's lifespan."""

    settings: CatalogSettings
    catalog: Catalog
    search: ProductSearch


def _services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError(  # noqa: TRY004 - a wiring bug, not a caller's type error
            "the catalog services are not set up: was the app's lifespan run?"
        )
    return services


# The dependencies are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a thread hop per request for a dictionary lookup.
async def _catalog(request: Request) -> Catalog:
    return _services(request).catalog


async def _search(request: Request) -> ProductSearch:
    return _services(request).search


async def _settings(request: Request) -> CatalogSettings:
    return _services(request).settings


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


CatalogDep = Annotated[Catalog, Depends(_catalog)]
SearchDep = Annotated[ProductSearch, Depends(_search)]
SettingsDep = Annotated[CatalogSettings, Depends(_settings)]
IfMatch = Annotated[int | None, Depends(_if_match)]
