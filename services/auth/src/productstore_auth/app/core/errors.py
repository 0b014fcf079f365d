"""The auth service's problems (RFC 9457), each with a stable `reason` for clients."""

from __future__ import annotations

import math

from productstore_common.auth.tokens import bearer_challenge
from productstore_common.errors import Problem, problem


def invalid_credentials() -> Problem:
    # One answer for an unknown address and a wrong password: no account enumeration.
    return problem(
        401,
        "invalid_credentials",
        "Incorrect e-mail address or password.",
        headers={"WWW-Authenticate": bearer_challenge()},
    )


def account_disabled() -> Problem:
    return problem(
        403,
        "account_disabled",
        "This account is disabled; contact an administrator to enable it.",
    )


def email_taken() -> Problem:
    return problem(
        409,
        "email_taken",
        "An account with this e-mail address exists already; log in, or register with "
        "another address.",
    )


def invalid_refresh_token(reason: str, detail: str) -> Problem:
    return problem(
        401,
        reason,
        detail + " Log in again.",
        headers={"WWW-Authenticate": bearer_challenge()},
    )


def rate_limited(retry_after: float, what: str) -> Problem:
    seconds = max(1, math.ceil(retry_after))
    return problem(
        429,
        "rate_limited",
        f"Too many login attempts {what}; retry in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


def user_not_found(user_id: object) -> Problem:
    return problem(404, "user_not_found", f"There is no user {user_id}.")


def invalid_client() -> Problem:
    return problem(
        401,
        "invalid_client",
        "Unknown client id or wrong client secret.",
    )


def audience_not_allowed(client_id: str, audience: str) -> Problem:
    return problem(
        403,
        "audience_not_allowed",
        f"Client '{client_id}' may not request tokens for '{audience}'.",
    )


def conflict(reason: str, detail: str) -> Problem:
    return problem(409, reason, detail)


def invalid_cursor() -> Problem:
    return problem(
        422,
        "invalid_cursor",
        "The cursor is not one this service returned (a user id); start again without it.",
    )
