"""Records of the services layer as API models."""

from __future__ import annotations

from productstore_catalog.app.models import CategoryPublic, ProductPublic, Rating
from productstore_catalog.app.services.catalog import CategoryRecord, ProductRecord


def category_public(category: CategoryRecord) -> CategoryPublic:
    return CategoryPublic(
        slug=category.slug,
        name=category.name,
        description=category.description,
        created_at=category.created_at,
        updated_at=category.updated_at,
    )


def product_public(product: ProductRecord) -> ProductPublic:
    return ProductPublic(
        id=product.id,
        name=product.name,
        description=product.description,
        category=product.category,
        price=product.price,
        currency=product.currency,
        attributes=product.attributes,
        image_urls=product.image_urls,
        in_stock=product.in_stock,
        rating=Rating(average=product.rating_average, count=product.rating_count),
        version=product.version,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


def etag(product: ProductRecord) -> str:
    return f'"{product.version}"'
