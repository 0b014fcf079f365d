"""Refresh-token rotation, reuse detection, logout and disabled accounts."""

from __future__ import annotations

import asyncio

import httpx
import jwt
import pytest

from tests.auth.support import PASSWORD, assert_problem, bearer, login, new_user

pytestmark = pytest.mark.anyio


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


async def test_refresh_rotates_the_refresh_token(client: httpx.AsyncClient) -> None:
    user, tokens = await new_user(client)
    response = await _refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    renewed = response.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    claims = jwt.decode(renewed["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user["id"]
    me = await client.get("/api/auth/me", headers=bearer(renewed["access_token"]))
    assert me.status_code == 200
    # The new refresh token works in turn.
    assert (await _refresh(client, renewed["refresh_token"])).status_code == 200


async def test_reusing_a_refresh_token_revokes_its_whole_family(
    client: httpx.AsyncClient,
) -> None:
    user, first = await new_user(client)
    second = (await _refresh(client, first["refresh_token"])).json()

    replay = await _refresh(client, first["refresh_token"])
    assert_problem(replay, 401, "refresh_token_reused")
    # The legitimate holder's newer token dies with the family ...
    assert_problem(await _refresh(client, second["refresh_token"]), 401, "session_ended")
    # ... but other logins of the same user are separate families.
    other = await login(client, user["email"])
    assert (await _refresh(client, other["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_with_one_token_have_one_winner(
    client: httpx.AsyncClient,
) -> None:
    _, tokens = await new_user(client)
    responses = await asyncio.gather(*(_refresh(client, tokens["refresh_token"]) for _ in range(3)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401, 401], [response.text for response in responses]
    # The losers saw reuse and revoked the family: the winner's new token is dead too.
    winner = next(response for response in responses if response.status_code == 200)
    assert_problem(await _refresh(client, winner.json()["refresh_token"]), 401, "session_ended")


@pytest.mark.parametrize("token", ["not-a-token", "x" * 256])
async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    assert_problem(await _refresh(client, token), 401, "invalid_refresh_token")


async def test_oversized_refresh_token_is_422(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await _refresh(client, "x" * 257), 422)
    assert problem["errors"][0]["pointer"] == "#/refresh_token"


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    _, tokens = await new_user(client)
    renewed = (await _refresh(client, tokens["refresh_token"])).json()
    response = await client.post(
        "/api/auth/logout", json={"refresh_token": renewed["refresh_token"]}
    )
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await _refresh(client, renewed["refresh_token"]), 401, "session_ended")
    # Logging out twice, or with an unknown token, is not an error.
    again = await client.post("/api/auth/logout", json={"refresh_token": renewed["refresh_token"]})
    assert again.status_code == 204
    unknown = await client.post("/api/auth/logout", json={"refresh_token": "never-issued"})
    assert unknown.status_code == 204


async def test_disabled_user_cannot_log_in_refresh_or_read_me(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    user, tokens = await new_user(client)
    disabled = await client.post(
        f"/api/auth/users/{user['id']}/disable", headers=bearer(admin_token)
    )
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True

    problem = assert_problem(
        await _refresh(client, tokens["refresh_token"]), 403, "account_disabled"
    )
    assert "disabled" in problem["detail"]
    assert_problem(
        await client.get("/api/auth/me", headers=bearer(tokens["access_token"])),
        403,
        "account_disabled",
    )
    login_response = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert_problem(login_response, 403, "account_disabled")
    # A wrong password does not reveal that the account is disabled.
    assert_problem(
        await client.post(
            "/api/auth/login", json={"email": user["email"], "password": "wrong wrong wrong"}
        ),
        401,
        "invalid_credentials",
    )

    enabled = await client.post(f"/api/auth/users/{user['id']}/enable", headers=bearer(admin_token))
    assert enabled.json()["disabled"] is False
    # Sessions from before the disable stay ended; a new login works.
    assert_problem(await _refresh(client, tokens["refresh_token"]), 401, "session_ended")
    fresh = await login(client, user["email"])
    assert (await _refresh(client, fresh["refresh_token"])).status_code == 200
