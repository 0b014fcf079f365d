"""The catalog's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem, body_field_problem, problem


def product_not_found(product_id: uuid.UUID) -> Problem:
    return problem(404, "product_not_found", f"There is no product {product_id}.")


def category_not_found(slug: str) -> Problem:
    return problem(404, "category_not_found", f"There is no category {slug!r}.")


def unknown_category(slug: str) -> Problem:
    # 422, not 404: the resource in the path exists; a member of the body is wrong.
    return body_field_problem(
        "unknown_category",
        f"The category {slug!r} does not exist; create it first (POST /api/categories).",
        "category",
        f"no category {slug!r}",
    )


def whole_price_required(currency: str, price: object, *, price_sent: bool) -> Problem:
    """A PATCH whose resulting price has decimals its currency does not have."""
    detail = (
        f"{currency} has no minor units: the price must be a whole number, not {price}."
        if price_sent
        else f"{currency} has no minor units but the product's price is {price}: send a "
        "whole-number `price` together with the currency change."
    )
    return body_field_problem(
        "currency_minor_units", detail, "price", f"{currency} prices are whole numbers"
    )


def category_exists(slug: str) -> Problem:
    return problem(
        409,
        "category_exists",
        f"A category {slug!r} exists already; choose another slug.",
    )


def category_in_use(slug: str) -> Problem:
    return problem(
        409,
        "category_in_use",
        f"The category {slug!r} still has products; move or delete them first.",
    )


def invalid_cursor(detail: str) -> Problem:
    return problem(400, "invalid_cursor", detail)


def invalid_query(detail: str) -> Problem:
    return problem(400, "invalid_query", detail)


def version_mismatch(product_id: uuid.UUID, current: int) -> Problem:
    return problem(
        412,
        "version_mismatch",
        f'Product {product_id} has changed (its ETag is now "{current}"); read it again '
        "and retry with the new If-Match.",
    )


def in_stock_from_inventory(product_id: uuid.UUID, in_stock: bool) -> Problem:
    return problem(
        409,
        "in_stock_from_inventory",
        f"Product {product_id} takes in_stock from its inventory (now {str(in_stock).lower()}): "
        f"change its stock with PUT /api/inventory/{product_id} instead.",
    )
