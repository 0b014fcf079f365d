"""The catalog's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem


def _problem(status: int, title: str, reason: str, detail: str) -> Problem:
    return Problem(status, title, detail, extra={"reason": reason})


def product_not_found(product_id: uuid.UUID) -> Problem:
    return _problem(404, "Not Found", "product_not_found", f"There is no product {product_id}.")


def category_not_found(slug: str) -> Problem:
    return _problem(404, "Not Found", "category_not_found", f"There is no category {slug!r}.")


def unknown_category(slug: str) -> Problem:
    # 422, not 404: the resource in the path exists; a member of the body is wrong.
    return Problem(
        422,
        "Unprocessable Content",
        f"The category {slug!r} does not exist; create it first (POST /api/categories).",
        extra={
            "reason": "unknown_category",
            "errors": [
                {
                    "loc": ["body", "category"],
                    "in": "body",
                    "pointer": "#/category",
                    "message": f"no category {slug!r}",
                    "type": "unknown_category",
                }
            ],
        },
    )


def whole_price_required(currency: str, price: object) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        f"{currency} has no minor units but the product's price is {price}: send a "
        "whole-number `price` together with the currency change.",
        extra={
            "reason": "currency_minor_units",
            "errors": [
                {
                    "loc": ["body", "price"],
                    "in": "body",
                    "pointer": "#/price",
                    "message": f"{currency} prices are whole numbers",
                    "type": "currency_minor_units",
                }
            ],
        },
    )


def category_exists(slug: str) -> Problem:
    return _problem(
        409,
        "Conflict",
        "category_exists",
        f"A category {slug!r} exists already; choose another slug.",
    )


def category_in_use(slug: str) -> Problem:
    return _problem(
        409,
        "Conflict",
        "category_in_use",
        f"The category {slug!r} still has products; move or delete them first.",
    )


def invalid_cursor(detail: str) -> Problem:
    return _problem(400, "Bad Request", "invalid_cursor", detail)


def invalid_query(detail: str) -> Problem:
    return _problem(400, "Bad Request", "invalid_query", detail)


def version_mismatch(product_id: uuid.UUID, current: int) -> Problem:
    return _problem(
        412,
        "Precondition Failed",
        "version_mismatch",
        f'Product {product_id} has changed (its ETag is now "{current}"); read it again '
        "and retry with the new If-Match.",
    )
