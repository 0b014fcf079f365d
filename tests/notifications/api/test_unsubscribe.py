"""The unsubscribe endpoint as RFC 8058 has it: a GET shows a page and changes nothing,
the one-click POST mutes the link's topic (twice is the same as once), and tampered,
expired or body-less requests are problem+json saying what to do."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from productstore_notifications.app.services.unsubscribe import UnsubscribeLinks
from tests.notifications.support import UNSUBSCRIBE_KEY, User
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio

PATH = "/api/notifications/unsubscribe"
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def _links(now: datetime | None = None) -> UnsubscribeLinks:
    """Links as the module's app signs them (the same key)."""
    at = now or datetime.now(UTC)
    return UnsubscribeLinks(
        UNSUBSCRIBE_KEY.encode(), "http://shop.test", valid_for=timedelta(days=90), clock=lambda: at
    )


async def _opt_outs(client: httpx.AsyncClient, user: User) -> list[dict[str, str]]:
    read = await client.get("/api/notifications/preferences", headers=bearer(user.token))
    opt_outs: list[dict[str, str]] = read.json()["opt_outs"]
    return opt_outs


async def test_get_shows_a_page_post_unsubscribes_once(
    client: httpx.AsyncClient, user_factory: Callable[[], User]
) -> None:
    user = user_factory()
    await client.put(
        "/api/notifications/preferences",
        json={"locale": "ru", "promotions": True},
        headers=bearer(user.token),
    )
    token = _links().token(user.id, "promotion")

    page = await client.get(PATH, params={"token": token})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert await _opt_outs(client, user) == []  # a GET changes nothing

    for _ in range(2):
        posted = await client.post(
            PATH, params={"token": token}, content="List-Unsubscribe=One-Click", headers=ONE_CLICK
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["topic"] == "promotion"
    assert await _opt_outs(client, user) == [{"topic": "promotion", "channel": "email"}]
    # The rest of the preferences stay as they were.
    read = await client.get("/api/notifications/preferences", headers=bearer(user.token))
    assert (read.json()["locale"], read.json()["promotions"]) == ("ru", True)


async def test_bad_links_and_bodies_are_problems(client: httpx.AsyncClient) -> None:
    token = _links().token(uuid.uuid4(), "promotion")
    encoded, signature = token.split(".")
    tampered = f"{encoded}.{signature[:-2]}AA"
    for method in ("GET", "POST"):
        refused = await client.request(
            method,
            PATH,
            params={"token": tampered},
            content="List-Unsubscribe=One-Click",
            headers=ONE_CLICK,
        )
        problem = assert_problem(refused, 400, "unsubscribe_link_invalid")
        assert "signature" in problem["detail"]

    expired = _links(now=datetime.now(UTC) - timedelta(days=100)).token(uuid.uuid4(), "promotion")
    gone = await client.post(
        PATH, params={"token": expired}, content="List-Unsubscribe=One-Click", headers=ONE_CLICK
    )
    assert "expired on" in assert_problem(gone, 410, "unsubscribe_link_expired")["detail"]

    no_body = await client.post(PATH, params={"token": token})
    assert (
        "List-Unsubscribe=One-Click"
        in assert_problem(no_body, 400, "one_click_body_required")["detail"]
    )
    no_token = await client.get(PATH)
    assert_problem(no_token, 422)
