"""User administration (admin role)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from productstore_auth.app.api.deps import AccountsDep, AdminUser
from productstore_auth.app.models import UserPublic, UserRolesUpdate, UsersPage
from productstore_common.openapi import problems

router = APIRouter(prefix="/api/auth/users", tags=["users"])

_ADMIN_PROBLEMS = problems(401, 403, 404)


@router.get(
    "",
    response_model=UsersPage,
    responses=problems(401, 403),
    summary="List users, a page at a time",
)
async def list_users(
    admin: AdminUser,
    accounts: AccountsDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Users per page")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="`next_cursor` of the previous page")
    ] = None,
) -> UsersPage:
    users, next_cursor = await accounts.page(limit=limit, cursor=cursor)
    return UsersPage(
        items=[UserPublic.model_validate(user) for user in users], next_cursor=next_cursor
    )


@router.get("/{user_id}", response_model=UserPublic, responses=_ADMIN_PROBLEMS, summary="One user")
async def get_user(user_id: uuid.UUID, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    return UserPublic.model_validate(await accounts.get(user_id))


@router.put(
    "/{user_id}/roles",
    response_model=UserPublic,
    responses=problems(401, 403, 404, 409, s409="Would remove your own admin role"),
    summary="Replace a user's roles",
)
async def set_roles(
    user_id: uuid.UUID, body: UserRolesUpdate, admin: AdminUser, accounts: AccountsDep
) -> UserPublic:
    """Takes effect in the user's next access token (at the next refresh or login)."""
    user = await accounts.set_roles(user_id, body.role_set(), acting_admin=admin.sub)
    return UserPublic.model_validate(user)


@router.post(
    "/{user_id}/disable",
    response_model=UserPublic,
    responses=problems(401, 403, 404, 409, s409="Would disable your own account"),
    summary="Disable a user and end their sessions",
)
async def disable_user(user_id: uuid.UUID, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    """Login and refresh are refused from now on, and sessions started before stay ended
    after the account is enabled again. Access tokens already issued expire on their own."""
    return UserPublic.model_validate(
        await accounts.set_disabled(user_id, disabled=True, acting_admin=admin.sub)
    )


@router.post(
    "/{user_id}/enable",
    response_model=UserPublic,
    responses=_ADMIN_PROBLEMS,
    summary="Enable a disabled user",
)
async def enable_user(user_id: uuid.UUID, admin: AdminUser, accounts: AccountsDep) -> UserPublic:
    return UserPublic.model_validate(
        await accounts.set_disabled(user_id, disabled=False, acting_admin=admin.sub)
    )
