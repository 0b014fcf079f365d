"""Tokens for service-to-service calls (OAuth2 client credentials)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from productstore_auth.app.api.deps import ClientIp, LimitsDep, ServiceClientsDep
from productstore_auth.app.models import ServiceTokenRequest, ServiceTokenResponse
from productstore_common.openapi import problems
from productstore_common.ratelimit import RATE_LIMITED_RESPONSES

router = APIRouter(prefix="/api/auth", tags=["service tokens"])


@router.post(
    "/service-token",
    response_model=ServiceTokenResponse,
    responses={
        **problems(
            401,
            403,
            s401="Unknown client id or wrong secret",
            s403="The audience is not in the client's allow-list",
        ),
        **RATE_LIMITED_RESPONSES,
    },
    summary="A short-lived token for calling one service",
)
async def service_token(
    body: ServiceTokenRequest,
    clients: ServiceClientsDep,
    limits: LimitsDep,
    client_ip: ClientIp,
    response: Response,
) -> ServiceTokenResponse:
    """A `token_type: service` access token whose `aud` is the callee; each client may
    ask only for the audiences it is configured for. Attempts are limited per client
    address and per client id (429 with Retry-After)."""
    await limits.service_token(client_ip, body.client_id)
    issued = await clients.issue(
        client_id=body.client_id, client_secret=body.client_secret, audience=body.audience
    )
    response.headers["Cache-Control"] = "no-store"
    return ServiceTokenResponse(
        access_token=issued.access_token, expires_in=issued.expires_in, audience=issued.audience
    )
