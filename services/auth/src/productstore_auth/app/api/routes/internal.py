"""Reads for other services: a service token whose audience is auth, never a user's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from productstore_auth.app.api.deps import AccountsDep
from productstore_auth.app.models import UserContact
from productstore_common.auth import Principal, require_service
from productstore_common.openapi import problems

router = APIRouter(prefix="/api/auth/internal", tags=["internal"])

ServiceCaller = Annotated[Principal, Depends(require_service())]


@router.get(
    "/users/{user_id:uuid}/contact",
    response_model=UserContact,
    responses=problems(401, 403, 404, s404="No such user"),
    summary="A user's e-mail address and name, for a service that writes to them",
)
async def user_contact(
    user_id: uuid.UUID, caller: ServiceCaller, accounts: AccountsDep
) -> UserContact:
    """For the notifications service (ADR 0027): which services may ask is auth's
    `AUTH_SERVICE_CLIENTS` allow-list (audience `auth`)."""
    return UserContact.model_validate(await accounts.get(user_id))
