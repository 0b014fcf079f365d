"""Reviews: signed-in users write, vote and report; anyone lists; admins moderate."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from productstore_common.auth import Principal
from productstore_common.openapi import problems
from productstore_reviews.app.api.deps import AdminUser, CurrentUser, ReviewsDep
from productstore_reviews.app.core import errors
from productstore_reviews.app.data.reviews import ReviewRecord
from productstore_reviews.app.models import (
    Moderation,
    ModerationPage,
    ReportCreate,
    ReviewCreate,
    ReviewModerated,
    ReviewPage,
    ReviewPublic,
    ReviewSort,
    ReviewStatus,
    ReviewUpdate,
)

router = APIRouter(prefix="/api/reviews", tags=["reviews"])


def _user_id(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(principal.sub)
    except ValueError:
        raise errors.user_token_required() from None


def _public(record: ReviewRecord, helpful: int = 0) -> ReviewPublic:
    return ReviewPublic(
        id=record.review_id,
        product_id=record.product_id,
        user_id=record.user_id,
        rating=record.rating,
        title=record.title,
        body=record.body,
        status=ReviewStatus(record.status),
        verified_purchase=record.verified_purchase,
        helpful=helpful,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _moderated(record: ReviewRecord, helpful: int = 0) -> ReviewModerated:
    return ReviewModerated(
        **_public(record, helpful).model_dump(),
        moderation=Moderation(
            language=record.language, sentiment=record.sentiment, reasons=list(record.reasons)
        ),
        reports=record.reports,
    )


@router.post(
    "",
    status_code=201,
    response_model=ReviewModerated,
    responses=problems(
        401, 403, 409, s409="The user has reviewed the product (`already_reviewed`)"
    ),
    summary="Review a product (one review per user and product)",
)
async def create_review(
    body: ReviewCreate, user: CurrentUser, reviews: ReviewsDep
) -> ReviewModerated:
    """Moderated at once, offline: `status` is published, pending (a moderator decides)
    or rejected, and `moderation.reasons` says why."""
    record = await reviews.create(_user_id(user), body)
    return _moderated(record)


@router.get(
    "",
    response_model=ReviewPage,
    responses=problems(
        400, descriptions={400: "The cursor is not one this list gave out (`invalid_cursor`)"}
    ),
    summary="A product's published reviews",
)
async def list_reviews(
    reviews: ReviewsDep,
    product_id: Annotated[uuid.UUID, Query(description="The product")],
    sort: Annotated[ReviewSort, Query(description="helpful, newest or rating first")] = (
        ReviewSort.helpful
    ),
    limit: Annotated[int, Query(ge=1, le=100, description="Reviews per page")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
) -> ReviewPage:
    items, next_cursor = await reviews.page(product_id, sort, limit, cursor)
    return ReviewPage(
        items=[_public(record, helpful) for record, helpful in items], next_cursor=next_cursor
    )


@router.get(
    "/moderation",
    response_model=ModerationPage,
    responses=problems(401, 403),
    summary="Reviews waiting for a moderator, oldest first (admin)",
)
async def moderation_queue(
    admin: AdminUser,
    reviews: ReviewsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Reviews at most")] = 100,
) -> ModerationPage:
    return ModerationPage(items=[_moderated(r) for r in await reviews.moderation_queue(limit)])


@router.patch(
    "/{review_id}",
    response_model=ReviewModerated,
    responses=problems(401, 403, 404, 409, s403="Not the author (`not_the_author`)"),
    summary="Change your review (moderated again)",
)
async def edit_review(
    review_id: uuid.UUID, body: ReviewUpdate, user: CurrentUser, reviews: ReviewsDep
) -> ReviewModerated:
    return _moderated(await reviews.edit(review_id, _user_id(user), body))


@router.delete(
    "/{review_id}",
    status_code=204,
    response_class=Response,
    responses=problems(401, 403, 404, 409, s403="Not the author (`not_the_author`)"),
    summary="Delete your review (you may then review the product again)",
)
async def delete_review(review_id: uuid.UUID, user: CurrentUser, reviews: ReviewsDep) -> Response:
    await reviews.delete(review_id, _user_id(user))
    return Response(status_code=204)


@router.post(
    "/{review_id}/helpful",
    status_code=204,
    response_class=Response,
    responses=problems(
        401, 404, 409, s409="Already voted (`already_voted`) or your own review (`own_review`)"
    ),
    summary="Mark a published review as helpful (once per user)",
)
async def mark_helpful(review_id: uuid.UUID, user: CurrentUser, reviews: ReviewsDep) -> Response:
    await reviews.helpful(review_id, _user_id(user))
    return Response(status_code=204)


@router.post(
    "/{review_id}/report",
    status_code=202,
    response_class=Response,
    responses=problems(
        401, 404, 409, s409="Already reported (`already_reported`) or your own (`own_review`)"
    ),
    summary="Report a published review (once per user; enough reports send it to moderators)",
)
async def report_review(
    review_id: uuid.UUID, body: ReportCreate, user: CurrentUser, reviews: ReviewsDep
) -> Response:
    await reviews.report(review_id, _user_id(user), body.reason)
    return Response(status_code=202)


@router.post(
    "/{review_id}/approve",
    response_model=ReviewModerated,
    responses=problems(401, 403, 404, 409),
    summary="Publish a review (admin)",
)
async def approve_review(
    review_id: uuid.UUID, admin: AdminUser, reviews: ReviewsDep
) -> ReviewModerated:
    return _moderated(await reviews.decide(review_id, approve=True))


@router.post(
    "/{review_id}/reject",
    response_model=ReviewModerated,
    responses=problems(401, 403, 404, 409),
    summary="Reject a review (admin); a published one is taken down",
)
async def reject_review(
    review_id: uuid.UUID, admin: AdminUser, reviews: ReviewsDep
) -> ReviewModerated:
    return _moderated(await reviews.decide(review_id, approve=False))
