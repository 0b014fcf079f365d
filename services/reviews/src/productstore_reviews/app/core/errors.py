"""The reviews' problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import uuid

from productstore_common.errors import Problem, problem


def review_not_found(review_id: uuid.UUID) -> Problem:
    return problem(404, "review_not_found", f"There is no review {review_id}.")


def already_reviewed(product_id: uuid.UUID, review_id: uuid.UUID) -> Problem:
    return problem(
        409,
        "already_reviewed",
        f"You have already reviewed product {product_id} (review {review_id}); change it "
        f"with PATCH /api/reviews/{review_id} or delete it first.",
        review_id=str(review_id),
    )


def not_the_author(review_id: uuid.UUID) -> Problem:
    return problem(403, "not_the_author", f"Only the author may change review {review_id}.")


def user_token_required() -> Problem:
    return problem(
        403, "user_token_required", "Reviews are written by signed-in users, not by services."
    )


def already_voted(review_id: uuid.UUID) -> Problem:
    return problem(409, "already_voted", f"You have already marked review {review_id} as helpful.")


def already_reported(review_id: uuid.UUID) -> Problem:
    return problem(409, "already_reported", f"You have already reported review {review_id}.")


def own_review(review_id: uuid.UUID) -> Problem:
    return problem(
        409, "own_review", f"Review {review_id} is yours: vote for and report others' reviews."
    )


def not_published(review_id: uuid.UUID) -> Problem:
    return problem(404, "review_not_found", f"There is no published review {review_id}.")


def contended(review_id: uuid.UUID) -> Problem:
    return problem(
        409, "write_contended", f"Review {review_id} kept changing under this write; retry it."
    )


def invalid_cursor() -> Problem:
    return problem(400, "invalid_cursor", "The cursor is not one this list gave out; start over.")
