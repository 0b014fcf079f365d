"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.services.accounts import Accounts
from productstore_auth.app.services.keyring import KeyRing
from productstore_auth.app.services.service_clients import ServiceClients
from productstore_auth.app.services.sessions import Sessions
from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide

__all__ = [
    "AccountsDep",
    "AdminUser",
    "ClientIp",
    "CurrentUser",
    "KeyRingDep",
    "ServiceClientsDep",
    "SessionsDep",
    "SettingsDep",
]


def _client_ip(request: Request) -> str:
    # Behind the gateway this is the client's address only when uvicorn trusts
    # the proxy's X-Forwarded-For (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


AccountsDep = Annotated[Accounts, Depends(provide(Accounts))]
SessionsDep = Annotated[Sessions, Depends(provide(Sessions))]
KeyRingDep = Annotated[KeyRing, Depends(provide(KeyRing))]
ServiceClientsDep = Annotated[ServiceClients, Depends(provide(ServiceClients))]
SettingsDep = Annotated[AuthSettings, Depends(provide(AuthSettings))]
ClientIp = Annotated[str, Depends(_client_ip)]
