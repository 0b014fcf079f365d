"""Records of the services layer as API models (products are JSON documents
already: services.reads, data.documents)."""

from __future__ import annotations

from productstore_catalog.app.models import CategoryPublic
from productstore_catalog.app.services.catalog import CategoryRecord


def category_public(category: CategoryRecord) -> CategoryPublic:
    return CategoryPublic(
        slug=category.slug,
        name=category.name,
        description=category.description,
        created_at=category.created_at,
        updated_at=category.updated_at,
    )
