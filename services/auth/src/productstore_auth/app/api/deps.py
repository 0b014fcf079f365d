"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.services.accounts import Accounts
from productstore_auth.app.services.keyring import KeyRing
from productstore_auth.app.services.limits import RequestLimits
from productstore_auth.app.services.service_clients import ServiceClients
from productstore_auth.app.services.sessions import Sessions
from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_common.ratelimit import client_ip

__all__ = [
    "AccountsDep",
    "AdminUser",
    "ClientIp",
    "CurrentUser",
    "KeyRingDep",
    "LimitsDep",
    "ServiceClientsDep",
    "SessionsDep",
    "SettingsDep",
]


AccountsDep = Annotated[Accounts, Depends(provide(Accounts))]
SessionsDep = Annotated[Sessions, Depends(provide(Sessions))]
KeyRingDep = Annotated[KeyRing, Depends(provide(KeyRing))]
ServiceClientsDep = Annotated[ServiceClients, Depends(provide(ServiceClients))]
LimitsDep = Annotated[RequestLimits, Depends(provide(RequestLimits))]
SettingsDep = Annotated[AuthSettings, Depends(provide(AuthSettings))]
# The address the gateway saw (X-Client-Address from a trusted proxy only), IPv6 by
# its /64: the same subject as every service's per-address rate limits.
ClientIp = Annotated[str, Depends(client_ip)]
