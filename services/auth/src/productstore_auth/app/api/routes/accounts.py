"""Registration and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter, status

from productstore_auth.app.api.deps import AccountsDep, ClientIp, CurrentUser, LimitsDep
from productstore_auth.app.models import UserCreate, UserPublic
from productstore_common.openapi import problems
from productstore_common.ratelimit import RATE_LIMITED_RESPONSES

router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={
        **problems(409, s409="An account with this e-mail address exists"),
        **RATE_LIMITED_RESPONSES,
    },
    summary="Create an account",
)
async def register(
    body: UserCreate, accounts: AccountsDep, limits: LimitsDep, client_ip: ClientIp
) -> UserPublic:
    """A new account with the `user` role. Log in afterwards to get tokens. Attempts
    are limited per client address (429 with Retry-After)."""
    await limits.register(client_ip)
    user = await accounts.register(email=body.email, name=body.name, password=body.password)
    return UserPublic.model_validate(user)


@router.get(
    "/me",
    response_model=UserPublic,
    responses=problems(401, 403),
    summary="The calling user's account",
)
async def me(principal: CurrentUser, accounts: AccountsDep) -> UserPublic:
    """The account the access token speaks for; 403 once it is disabled."""
    return UserPublic.model_validate(await accounts.active_user(principal.sub))
