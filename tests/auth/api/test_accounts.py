"""Registration, login (JSON and OAuth2 form), /me, input validation and login rate limits."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI

from productstore_auth.app.core.config import AuthSettings
from productstore_common.errors import PROBLEM_CONTENT_TYPE
from tests.auth.support import (
    PASSWORD,
    asgi_client,
    assert_problem,
    bearer,
    login,
    new_user,
    register,
    unique_email,
)
from tests.support.metrics import scrape

pytestmark = pytest.mark.anyio


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    email = unique_email()
    response = await client.post(
        "/api/auth/register",
        json={"email": f"  {email.upper()} ", "name": " Ada Lovelace ", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    user = response.json()
    # Addresses are stored trimmed and lower-cased; no password (hash) is ever returned.
    assert user["email"] == email
    assert user["name"] == "Ada Lovelace"
    assert user["roles"] == ["user"]
    assert user["disabled"] is False
    assert set(user) == {"id", "email", "name", "roles", "disabled", "created_at"}

    tokens = await login(client, email.upper())
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"] and tokens["refresh_token"] != tokens["access_token"]

    me = await client.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json() == user


async def test_login_responses_are_not_cached(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.headers["cache-control"] == "no-store"


async def test_oauth2_password_form_logs_in(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/auth/token",
        data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    me = await client.get("/api/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["id"] == user["id"]

    bad = await client.post("/api/auth/token", data={"username": "ada", "password": PASSWORD})
    body = assert_problem(bad, 422)
    assert "e-mail address" in body["detail"]


async def test_wrong_password_and_unknown_email_get_the_same_401(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    wrong = await client.post(
        "/api/auth/login", json={"email": user["email"], "password": "not the password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": unique_email(), "password": PASSWORD}
    )
    first = assert_problem(wrong, 401, "invalid_credentials")
    second = assert_problem(unknown, 401, "invalid_credentials")
    assert first["detail"] == second["detail"]
    assert wrong.headers["www-authenticate"].startswith("Bearer")


async def test_login_outcomes_are_counted(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    user = await register(client)
    await login(client, user["email"])
    await client.post("/api/auth/login", json={"email": user["email"], "password": "nope nope"})
    after = await scrape(client)
    assert after.grew(before, "auth_logins_total", outcome="success") == 1
    assert after.grew(before, "auth_logins_total", outcome="invalid_credentials") == 1


async def test_duplicate_email_is_409(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    again = await client.post(
        "/api/auth/register",
        json={"email": email.upper(), "name": "Someone Else", "password": "another fine phrase"},
    )
    assert_problem(again, 409, "email_taken")
    # The first account keeps its password.
    await login(client, email)


async def test_concurrent_registrations_of_one_address_have_one_winner(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    passwords = [f"racing passphrase {n}" for n in range(4)]
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/auth/register", json={"email": email, "name": "Racer", "password": password}
            )
            for password in passwords
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409], [response.text for response in responses]
    winner = passwords[[r.status_code for r in responses].index(201)]
    await login(client, email, winner)


@pytest.mark.parametrize(
    ("body", "pointer", "message"),
    [
        ({"name": "Ada", "password": PASSWORD}, "#/email", "Field required"),
        ({"email": "ada.example.com", "name": "Ada", "password": PASSWORD}, "#/email", "e-mail"),
        ({"email": "ada@example.com", "name": "  ", "password": PASSWORD}, "#/name", "at least 1"),
        ({"email": "ada@example.com", "name": "Ada", "password": "short"}, "#/password", "10"),
        ({"email": "ada@example.com", "name": "Ada", "password": "a" * 12}, "#/password", "single"),
        (
            {"email": "ada@example.com", "name": "Ada", "password": "abababababab"},
            "#/password",
            "different characters",
        ),
        (
            {"email": "ada@example.com", "name": "Ada", "password": "Password123"},
            "#/password",
            "common",
        ),
        (
            {"email": "lovelace@example.com", "name": "Ada", "password": "lovelace-rules-1"},
            "#/password",
            "e-mail address",
        ),
        # Look-alikes and hidden characters (issue 10, finding 8).
        (
            {"email": "\u0430dmin@example.com", "name": "Ada", "password": PASSWORD},
            "#/email",
            "scripts",
        ),
        (
            {"email": "ada@ex\u0430mple.com", "name": "Ada", "password": PASSWORD},
            "#/email",
            "scripts",
        ),
        (
            {"email": "ad\x00a@example.com", "name": "Ada", "password": PASSWORD},
            "#/email",
            "U+0000",
        ),
        (
            {"email": "ad\u202ea@example.com", "name": "Ada", "password": PASSWORD},
            "#/email",
            "OVERRIDE",
        ),
        ({"email": "ada@example.com", "name": "A\x00da", "password": PASSWORD}, "#/name", "U+0000"),
        (
            {"email": "ada@example.com", "name": "Ada\u202e", "password": PASSWORD},
            "#/name",
            "U+202E",
        ),
        (
            {"email": "ada@example.com", "name": "A\u0085da", "password": PASSWORD},
            "#/name",
            "U+0085",
        ),
        (
            {"email": "ada@example.com", "name": "Ada\nAdmin", "password": PASSWORD},
            "#/name",
            "line break",
        ),
        (
            {"email": "ada@example.com", "name": "Ada", "password": PASSWORD, "role": "admin"},
            "#/role",
            "Extra inputs",
        ),
    ],
)
async def test_invalid_registration_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, str], pointer: str, message: str
) -> None:
    response = await client.post("/api/auth/register", json=body)
    problem = assert_problem(response, 422)
    errors = {error["pointer"]: error for error in problem["errors"]}
    assert pointer in errors, problem
    assert message in errors[pointer]["message"], errors[pointer]
    assert pointer in problem["detail"]


async def test_weak_password_lists_every_broken_rule(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/auth/register", json={"email": unique_email(), "name": "Ada", "password": "aaaa"}
    )
    (error,) = assert_problem(response, 422)["errors"]
    assert error["type"] == "password_policy"
    assert "at least 10 characters" in error["message"]
    assert "single character" in error["message"]


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/me")
    assert_problem(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == 'Bearer realm="productstore"'


async def test_a_strangers_guesses_cannot_lock_the_owner_out(
    app: FastAPI, auth_settings: AuthSettings
) -> None:
    """Only wrong passwords count, after the check; past the limit each try waits a
    short delay that doubles with every further failure (OWASP's exponential lockout),
    and then the owner's password works again."""
    limit = auth_settings.login_attempts_per_account
    # An address of its own: the module's other tests spend 127.0.0.1's budget.
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    async with asgi_client(app, client_ip=address) as client:
        user, _ = await new_user(client)

        async def attempt(password: str) -> httpx.Response:
            body = {"email": user["email"], "password": password}
            return await client.post("/api/auth/login", json=body)

        # Fewer wrong guesses than the limit cost the owner nothing.
        for _ in range(limit - 1):
            assert_problem(await attempt("guess guess guess"), 401, "invalid_credentials")
        assert (await attempt(PASSWORD)).status_code == 200
        # A success forgets them; `limit` more make the next try wait a second.
        for _ in range(limit):
            assert_problem(await attempt("guess guess guess"), 401, "invalid_credentials")
        # Refused unchecked while it waits, so a guesser learns nothing from it.
        blocked = await attempt(PASSWORD)
        problem = assert_problem(blocked, 429, "rate_limited")
        assert "for this account" in problem["detail"]
        assert blocked.headers["retry-after"] == "1"
        await asyncio.sleep(1.0)
        assert (await attempt(PASSWORD)).status_code == 200
        # Other accounts were never affected.
        await new_user(client)


async def test_login_is_rate_limited_per_client_address(
    app: FastAPI, auth_settings: AuthSettings
) -> None:
    # An address of its own (the module's other tests log in from 127.0.0.1).
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    limit = auth_settings.login_attempts_per_ip
    async with asgi_client(app, client_ip=address) as client:
        # One attempt per account: only the address's limit can trip.
        statuses = []
        for n in range(limit + 1):
            response = await client.post(
                "/api/auth/login",
                json={"email": unique_email(f"spray{n}"), "password": "guess guess guess"},
            )
            statuses.append(response.status_code)
    assert_problem(response, 429, "rate_limited")
    assert "from your address" in response.json()["detail"]
    assert statuses[:-1] == [401] * limit


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) == 15
    for path, method, operation in operations:
        assert path.startswith("/api/auth/"), path
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert success, (method, path)
        if success != ["204"]:
            schema = responses[success[0]]["content"]["application/json"]["schema"]
            assert "$ref" in schema, (method, path)  # a declared response model
        assert PROBLEM_CONTENT_TYPE in responses["default"]["content"], (method, path)
        for code, response in responses.items():
            if code.startswith(("4", "5")):
                assert PROBLEM_CONTENT_TYPE in response["content"], (method, path, code)
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/auth/token"
