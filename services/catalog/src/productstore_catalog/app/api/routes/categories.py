"""Categories: everyone reads, admins write."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from productstore_catalog.app.api.deps import AdminUser, CatalogDep
from productstore_catalog.app.api.responses import problems
from productstore_catalog.app.api.routes.convert import category_public
from productstore_catalog.app.models import (
    SLUG_PATTERN,
    CategoryCreate,
    CategoryList,
    CategoryPublic,
    CategoryUpdate,
)

router = APIRouter(prefix="/api/categories", tags=["categories"])

SlugPath = Annotated[
    str,
    Path(
        max_length=64, pattern=SLUG_PATTERN, description="The category's slug", examples=["shoes"]
    ),
]


@router.get("", response_model=CategoryList, summary="All categories, by slug")
async def list_categories(catalog: CatalogDep) -> CategoryList:
    return CategoryList(items=[category_public(c) for c in await catalog.list_categories()])


@router.get(
    "/{slug}", response_model=CategoryPublic, responses=problems(404), summary="One category"
)
async def get_category(slug: SlugPath, catalog: CatalogDep) -> CategoryPublic:
    return category_public(await catalog.get_category(slug))


@router.post(
    "",
    response_model=CategoryPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 409, s409="The slug is taken"),
    summary="Create a category (admin)",
    response_description="The category; `Location` is its URL",
)
async def create_category(
    body: CategoryCreate, admin: AdminUser, catalog: CatalogDep, response: Response
) -> CategoryPublic:
    category = await catalog.create_category(body)
    response.headers["Location"] = f"{router.prefix}/{category.slug}"
    return category_public(category)


@router.patch(
    "/{slug}",
    response_model=CategoryPublic,
    responses=problems(401, 403, 404),
    summary="Change a category's name or description (admin)",
)
async def update_category(
    slug: SlugPath, body: CategoryUpdate, admin: AdminUser, catalog: CatalogDep
) -> CategoryPublic:
    """The slug is the category's identity and cannot change."""
    return category_public(await catalog.update_category(slug, body))


@router.delete(
    "/{slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 409, s409="The category still has products"),
    summary="Delete an empty category (admin)",
)
async def delete_category(slug: SlugPath, admin: AdminUser, catalog: CatalogDep) -> Response:
    await catalog.delete_category(slug)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
