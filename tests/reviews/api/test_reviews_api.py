"""The reviews API through the in-process app on devstack: moderation on write, one
review per user and product, lists, votes, reports, the moderators' queue, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from productstore_common.kit.container import container_of
from productstore_common.telemetry.metrics import metrics_of
from productstore_contracts.events.reviews import ReviewModerated, ReviewPublished, ReviewRemoved
from productstore_reviews.app.services.reviews import Reviews
from tests.catalog.support import Tokens
from tests.reviews.support import EventLog
from tests.support.problems import assert_problem, bearer

pytestmark = pytest.mark.anyio

GOOD = "Great kettle, boils fast and looks lovely on the counter."


def _subject(token: str) -> str:
    """The user id the token speaks for (the test reads its own token)."""
    sub: str = jwt.decode(token, options={"verify_signature": False})["sub"]
    return sub


async def _post(
    client: httpx.AsyncClient, token: str, product: uuid.UUID, rating: int, body: str
) -> httpx.Response:
    return await client.post(
        "/api/reviews",
        json={"product_id": str(product), "rating": rating, "title": "", "body": body},
        headers=bearer(token),
    )


async def test_a_clean_review_is_published_once_per_user_and_product(
    client: httpx.AsyncClient, new_user: Callable[[], str], event_log: EventLog
) -> None:
    product, user = uuid.uuid4(), new_user()
    created = await _post(client, user, product, 5, GOOD)
    assert created.status_code == 201, created.text
    review = created.json()
    assert review["status"] == "published"
    assert review["moderation"]["language"] == "en"
    assert review["moderation"]["sentiment"] > 0.5
    assert review["verified_purchase"] is False
    again = await _post(client, user, product, 4, "Another opinion of the same kettle.")
    assert_problem(again, 409, "already_reviewed")
    events = await event_log.wait_for(
        lambda es: any(
            isinstance(e.data, ReviewPublished) and e.data.review_id == uuid.UUID(review["id"])
            for e in es
        ),
        "ReviewPublished",
    )
    published = next(e for e in events if str(getattr(e.data, "review_id", "")) == review["id"])
    assert published.subject == str(product)
    assert published.data.rating == 5


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"rating": 6, "body": GOOD}, "#/rating"),
        ({"rating": 0, "body": GOOD}, "#/rating"),
        ({"rating": 5, "body": "short"}, "#/body"),
        ({"rating": 5, "body": "x" * 5001}, "#/body"),
        ({"rating": 5, "body": GOOD, "title": "a\u202eb"}, "#/title"),
        ({"rating": 5, "body": GOOD, "title": "t" * 121}, "#/title"),
        ({"rating": 5, "body": "nul \x00 inside the body text"}, "#/body"),
        ({"rating": 5, "body": GOOD, "stars": 5}, "#/stars"),
    ],
)
async def test_bad_input_is_a_problem(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], pointer: str
) -> None:
    sent = {"product_id": str(uuid.uuid4()), **body}
    answer = await client.post("/api/reviews", json=sent, headers=bearer(tokens.user))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert pointer in {error.get("pointer") for error in answer.json()["errors"]}


async def test_writing_needs_a_token(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/reviews", json={"product_id": str(uuid.uuid4()), "rating": 5, "body": GOOD}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")


def _decisions(app: FastAPI, decision: str) -> float:
    sample = metrics_of(app).registry.get_sample_value(
        "reviews_moderation_decisions_total", {"decision": decision, "language": "en"}
    )
    return sample or 0.0


async def test_obscene_is_rejected_and_spam_queued_for_moderators(
    client: httpx.AsyncClient, new_user: Callable[[], str], tokens: Tokens, app: FastAPI
) -> None:
    product = uuid.uuid4()
    rejects, queues = _decisions(app, "reject"), _decisions(app, "queue")
    rejected = (await _post(client, new_user(), product, 1, "This is fucking garbage.")).json()
    assert (rejected["status"], rejected["moderation"]["reasons"]) == ("rejected", ["profanity"])
    queued = (
        await _post(client, new_user(), product, 4, "Good jacket, see www.example.com sizes.")
    ).json()
    assert (queued["status"], queued["moderation"]["reasons"]) == ("pending", ["link"])
    assert (_decisions(app, "reject"), _decisions(app, "queue")) == (rejects + 1, queues + 1)
    listed = await client.get("/api/reviews", params={"product_id": str(product)})
    assert listed.json()["items"] == []
    queue = await client.get("/api/reviews/moderation", headers=bearer(tokens.admin))
    assert queued["id"] in {item["id"] for item in queue.json()["items"]}
    assert rejected["id"] not in {item["id"] for item in queue.json()["items"]}
    forbidden = await client.get("/api/reviews/moderation", headers=bearer(tokens.user))
    assert_problem(forbidden, 403, None)
    approved = await client.post(
        f"/api/reviews/{queued['id']}/approve", headers=bearer(tokens.admin)
    )
    assert approved.json()["status"] == "published"
    queue = await client.get("/api/reviews/moderation", headers=bearer(tokens.admin))
    assert queued["id"] not in {item["id"] for item in queue.json()["items"]}
    listed = await client.get("/api/reviews", params={"product_id": str(product)})
    assert [item["id"] for item in listed.json()["items"]] == [queued["id"]]


async def test_authors_are_told_moderators_and_automatic_rejections_decisions(
    client: httpx.AsyncClient, new_user: Callable[[], str], tokens: Tokens, event_log: EventLog
) -> None:
    product = uuid.uuid4()
    rejected = (await _post(client, new_user(), product, 1, "This is fucking garbage.")).json()
    linked = "Good jacket, see www.example.com sizes."
    approve = (await _post(client, new_user(), product, 4, linked)).json()
    reject = (await _post(client, new_user(), product, 4, linked)).json()
    published = (await _post(client, new_user(), product, 5, GOOD)).json()
    for review, verb in ((approve, "approve"), (reject, "reject"), (approve, "approve")):
        decided = await client.post(
            f"/api/reviews/{review['id']}/{verb}", headers=bearer(tokens.admin)
        )
        assert decided.status_code == 200, decided.text

    def moderated(events: list[Any]) -> list[ReviewModerated]:
        return [
            e.data
            for e in events
            if isinstance(e.data, ReviewModerated) and e.data.product_id == product
        ]

    events = await event_log.wait_for(lambda es: len(moderated(es)) >= 3, "ReviewModerated")
    # The second approval changed nothing and says nothing; a review published on write
    # has nothing to tell.
    outcomes = {str(d.review_id): (d.outcome, d.decided_by, d.reasons) for d in moderated(events)}
    assert outcomes == {
        rejected["id"]: ("rejected", "automatic", ["profanity"]),
        approve["id"]: ("approved", "moderator", []),
        reject["id"]: ("rejected", "moderator", ["link"]),
    }
    assert len(moderated(events)) == 3
    assert published["id"] not in outcomes


async def test_lists_sort_and_page(client: httpx.AsyncClient, new_user: Callable[[], str]) -> None:
    product = uuid.uuid4()
    texts = {
        3: "It is a kettle. It boils water as described.",
        5: "Excellent kettle, quiet and fast, I love it.",
        4: "Good kettle, works well, the lid is a bit stiff.",
    }
    ids = {}
    for rating, text in texts.items():
        ids[rating] = (await _post(client, new_user(), product, rating, text)).json()["id"]
    voter = new_user()
    voted = await client.post(f"/api/reviews/{ids[3]}/helpful", headers=bearer(voter))
    assert voted.status_code == 204
    assert_problem(
        await client.post(f"/api/reviews/{ids[3]}/helpful", headers=bearer(voter)),
        409,
        "already_voted",
    )

    async def order(sort: str) -> list[str]:
        page = await client.get("/api/reviews", params={"product_id": str(product), "sort": sort})
        return [item["id"] for item in page.json()["items"]]

    assert await order("rating") == [ids[5], ids[4], ids[3]]
    assert await order("newest") == [ids[4], ids[5], ids[3]]
    assert (await order("helpful"))[0] == ids[3]
    first = await client.get("/api/reviews", params={"product_id": str(product), "limit": 2})
    assert len(first.json()["items"]) == 2
    rest = await client.get(
        "/api/reviews",
        params={"product_id": str(product), "limit": 2, "cursor": first.json()["next_cursor"]},
    )
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    bad = await client.get("/api/reviews", params={"product_id": str(product), "cursor": "zz"})
    assert_problem(bad, 400, "invalid_cursor")


async def test_edits_are_moderated_again_and_deletes_remove(
    client: httpx.AsyncClient, new_user: Callable[[], str], event_log: EventLog
) -> None:
    product, author, other = uuid.uuid4(), new_user(), new_user()
    review = (await _post(client, author, product, 5, GOOD)).json()
    path = f"/api/reviews/{review['id']}"
    assert_problem(
        await client.patch(path, json={"rating": 4}, headers=bearer(other)), 403, "not_the_author"
    )
    edited = await client.patch(
        path, json={"body": "Now with a link www.example.com"}, headers=bearer(author)
    )
    assert edited.json()["status"] == "pending"
    assert (await client.delete(path, headers=bearer(author))).status_code == 204
    assert_problem(
        await client.patch(path, json={"rating": 2}, headers=bearer(author)),
        404,
        "review_not_found",
    )
    # Deleted: the author may review the product again.
    assert (await _post(client, author, product, 3, GOOD)).status_code == 201
    events = await event_log.wait_for(
        lambda es: any(
            isinstance(e.data, ReviewRemoved) and str(e.data.review_id) == review["id"] for e in es
        ),
        "ReviewRemoved",
    )
    removed = [e.data for e in events if str(getattr(e.data, "review_id", "")) == review["id"]]
    assert [type(d).__name__ for d in removed] == ["ReviewPublished", "ReviewRemoved"]
    assert removed[1].reason == "edited"


async def test_reports_take_a_review_back_to_moderators(
    client: httpx.AsyncClient, new_user: Callable[[], str], tokens: Tokens
) -> None:
    product, author = uuid.uuid4(), new_user()
    review = (await _post(client, author, product, 5, GOOD)).json()
    path = f"/api/reviews/{review['id']}/report"
    first = new_user()
    assert (
        await client.post(path, json={"reason": "fake"}, headers=bearer(first))
    ).status_code == 202
    assert_problem(
        await client.post(path, json={"reason": "fake"}, headers=bearer(first)),
        409,
        "already_reported",
    )
    assert_problem(
        await client.post(path, json={"reason": "mine"}, headers=bearer(author)), 409, "own_review"
    )
    await client.post(path, json={"reason": "spam"}, headers=bearer(new_user()))
    queue = (await client.get("/api/reviews/moderation", headers=bearer(tokens.admin))).json()
    found = next(item for item in queue["items"] if item["id"] == review["id"])
    assert found["reports"] == 2 and "reported" in found["moderation"]["reasons"]


async def test_a_claim_left_without_its_review_is_taken_over(
    client: httpx.AsyncClient, new_user: Callable[[], str], app: FastAPI
) -> None:
    """A claim whose review row is missing (left by a crash, or by a writer that claimed
    before writing) must not lock the user out: the next POST takes it over."""
    product, token = uuid.uuid4(), new_user()
    store = container_of(app).get(Reviews).store
    user_id = uuid.UUID(_subject(token))
    assert await store.claim_author(product, user_id, uuid.uuid4()) is None
    created = await _post(client, token, product, 5, GOOD)
    assert created.status_code == 201, created.text
    assert_problem(await _post(client, token, product, 5, GOOD), 409, "already_reviewed")


async def test_concurrent_posts_of_one_user_make_one_review(
    client: httpx.AsyncClient, new_user: Callable[[], str]
) -> None:
    product, token = uuid.uuid4(), new_user()
    answers = await asyncio.gather(*(_post(client, token, product, 5, GOOD) for _ in range(8)))
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
    listed = await client.get("/api/reviews", params={"product_id": str(product)})
    assert len(listed.json()["items"]) == 1


async def test_a_moderator_and_the_author_racing_both_land_in_order(
    client: httpx.AsyncClient, new_user: Callable[[], str], tokens: Tokens
) -> None:
    """An approve and an edit at once: each is a compare-and-set on the version, so the
    review ends in the state of whichever committed last, never a mix."""
    product, author = uuid.uuid4(), new_user()
    queued = (await _post(client, author, product, 4, "Fine, see www.example.com")).json()
    path = f"/api/reviews/{queued['id']}"
    approved, edited = await asyncio.gather(
        client.post(f"{path}/approve", headers=bearer(tokens.admin)),
        client.patch(path, json={"body": "Fine kettle, works well."}, headers=bearer(author)),
    )
    assert (approved.status_code, edited.status_code) == (200, 200)
    # Approve then edit: the clean edit stays published. Edit then approve: the edit
    # published it, and approving a published review changes nothing. Either way:
    listed = await client.get("/api/reviews", params={"product_id": str(product)})
    assert [(i["id"], i["body"]) for i in listed.json()["items"]] == [
        (queued["id"], "Fine kettle, works well.")
    ]
    queue = await client.get("/api/reviews/moderation", headers=bearer(tokens.admin))
    assert queued["id"] not in {item["id"] for item in queue.json()["items"]}
