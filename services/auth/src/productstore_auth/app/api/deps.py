"""Typed dependencies of the routes (`Annotated` aliases, as in every Product Store service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from productstore_auth.app.core.config import AuthSettings
from productstore_auth.app.services.accounts import Accounts
from productstore_auth.app.services.keyring import KeyRing
from productstore_auth.app.services.service_clients import ServiceClients
from productstore_auth.app.services.sessions import Sessions
from productstore_common.auth import AdminUser, CurrentUser

__all__ = [
    "AccountsDep",
    "AdminUser",
    "ClientIp",
    "CurrentUser",
    "KeyRingDep",
    "ServiceClientsDep",
    "Services",
    "SessionsDep",
    "SettingsDep",
]


@dataclass(frozen=True)
class Services:
    """What the routes use, built once per process by the app's lifespan."""

    settings: AuthSettings
    accounts: Accounts
    sessions: Sessions
    keyring: KeyRing
    service_clients: ServiceClients


def _services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        # A wiring bug, answered as a logged 500.
        raise RuntimeError(  # noqa: TRY004 - a wiring bug, not a caller's type error
            "the auth services are not set up: was the app's lifespan run?"
        )
    return services


def _accounts(request: Request) -> Accounts:
    return _services(request).accounts


def _sessions(request: Request) -> Sessions:
    return _services(request).sessions


def _keyring(request: Request) -> KeyRing:
    return _services(request).keyring


def _service_clients(request: Request) -> ServiceClients:
    return _services(request).service_clients


def _settings(request: Request) -> AuthSettings:
    return _services(request).settings


def _client_ip(request: Request) -> str:
    # Behind the gateway this is the client's address only when uvicorn trusts
    # the proxy's X-Forwarded-For (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


AccountsDep = Annotated[Accounts, Depends(_accounts)]
SessionsDep = Annotated[Sessions, Depends(_sessions)]
KeyRingDep = Annotated[KeyRing, Depends(_keyring)]
ServiceClientsDep = Annotated[ServiceClients, Depends(_service_clients)]
SettingsDep = Annotated[AuthSettings, Depends(_settings)]
ClientIp = Annotated[str, Depends(_client_ip)]
