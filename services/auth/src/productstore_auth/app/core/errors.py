"""The auth service's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import math

from productstore_common.auth.tokens import bearer_challenge
from productstore_common.errors import Problem


def _problem(status: int, title: str, reason: str, detail: str, **headers: str) -> Problem:
    return Problem(status, title, detail, headers=headers or None, extra={"reason": reason})


def invalid_credentials() -> Problem:
    # One answer for an unknown address and a wrong password: no account enumeration.
    return _problem(
        401,
        "Unauthorized",
        "invalid_credentials",
        "Incorrect e-mail address or password.",
        **{"WWW-Authenticate": bearer_challenge()},
    )


def account_disabled() -> Problem:
    return _problem(
        403,
        "Forbidden",
        "account_disabled",
        "This account is disabled; contact an administrator to enable it.",
    )


def email_taken() -> Problem:
    return _problem(
        409,
        "Conflict",
        "email_taken",
        "An account with this e-mail address exists already; log in, or register with "
        "another address.",
    )


def invalid_refresh_token(reason: str, detail: str) -> Problem:
    return _problem(
        401,
        "Unauthorized",
        reason,
        detail + " Log in again.",
        **{"WWW-Authenticate": bearer_challenge()},
    )


def rate_limited(retry_after: float, what: str) -> Problem:
    seconds = max(1, math.ceil(retry_after))
    return _problem(
        429,
        "Too Many Requests",
        "rate_limited",
        f"Too many login attempts {what}; retry in {seconds} s.",
        **{"Retry-After": str(seconds)},
    )


def user_not_found(user_id: object) -> Problem:
    return _problem(404, "Not Found", "user_not_found", f"There is no user {user_id}.")


def invalid_client() -> Problem:
    return _problem(
        401,
        "Unauthorized",
        "invalid_client",
        "Unknown client id or wrong client secret.",
    )


def audience_not_allowed(client_id: str, audience: str) -> Problem:
    return _problem(
        403,
        "Forbidden",
        "audience_not_allowed",
        f"Client '{client_id}' may not request tokens for '{audience}'.",
    )


def conflict(reason: str, detail: str) -> Problem:
    return _problem(409, "Conflict", reason, detail)


def invalid_cursor() -> Problem:
    return _problem(
        422,
        "Unprocessable Content",
        "invalid_cursor",
        "The cursor is not one this service returned (a user id); start again without it.",
    )
