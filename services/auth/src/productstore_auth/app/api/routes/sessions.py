"""Logging in and out, and refreshing tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from productstore_auth.app.api.deps import AccountsDep, ClientIp, SessionsDep
from productstore_auth.app.core.policy import normalise_email
from productstore_auth.app.models import LoginRequest, RefreshRequest, TokenPair
from productstore_common.errors import Problem
from productstore_common.openapi import problems

router = APIRouter(prefix="/api/auth", tags=["sessions"])

_NO_STORE = {"Cache-Control": "no-store"}  # RFC 6749 §5.1: token responses are not cached


@router.post(
    "/login",
    response_model=TokenPair,
    responses=problems(401, 403, 429, s403="The account is disabled"),
    summary="Log in with e-mail address and password",
)
async def login(
    body: LoginRequest,
    accounts: AccountsDep,
    sessions: SessionsDep,
    client_ip: ClientIp,
    response: Response,
) -> TokenPair:
    """An access token and a refresh token. Attempts are limited per account and per
    client address (429 with Retry-After)."""
    user = await accounts.authenticate(
        email=body.email, password=body.password, client_ip=client_ip
    )
    response.headers.update(_NO_STORE)
    return TokenPair.model_validate(await sessions.start(user))


@router.post(
    "/token",
    response_model=TokenPair,
    responses=problems(401, 403, 429, s403="The account is disabled"),
    summary="OAuth2 password grant (the docs' Authorize button)",
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    accounts: AccountsDep,
    sessions: SessionsDep,
    client_ip: ClientIp,
    response: Response,
) -> TokenPair:
    """`/login` as an OAuth2 form: `username` is the e-mail address."""
    try:
        email = normalise_email(form.username)
    except ValueError as exc:
        raise Problem(
            422,
            "Unprocessable Content",
            f"The username must be the account's e-mail address: it {exc}.",
            extra={"errors": [{"loc": ["body", "username"], "in": "body", "message": str(exc)}]},
        ) from None
    user = await accounts.authenticate(email=email, password=form.password, client_ip=client_ip)
    response.headers.update(_NO_STORE)
    return TokenPair.model_validate(await sessions.start(user))


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problems(
        401, 403, s401="The refresh token is unknown, expired, reused or its session ended"
    ),
    summary="Exchange a refresh token for new tokens",
)
async def refresh(body: RefreshRequest, sessions: SessionsDep, response: Response) -> TokenPair:
    """New tokens; the refresh token sent is used up. Sending a used refresh token again
    revokes its whole session (theft detection)."""
    response.headers.update(_NO_STORE)
    return TokenPair.model_validate(await sessions.refresh(body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="End the session of a refresh token",
)
async def logout(body: RefreshRequest, sessions: SessionsDep) -> None:
    """Revokes every refresh token of the session. Access tokens stay valid until they
    expire (minutes), as they are checked without a call to this service."""
    await sessions.end(body.refresh_token)
