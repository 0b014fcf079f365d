"""A broadcast whose sender stops mid-way (the process is stopped: its sending task is
cancelled wherever it was) is taken over by the next process once the lease runs out,
from the saved cursor, and nobody gets the promotion twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from productstore_common.kit.container import container_of
from productstore_notifications.app.core.config import NotificationsSettings
from productstore_notifications.app.data.broadcasts import BroadcastRecord, BroadcastStore
from productstore_notifications.app.models import BroadcastCreate
from productstore_notifications.app.services.broadcasts import Broadcasts
from productstore_notifications.app.services.notifier import Notifier
from tests.catalog.support import AuthServer
from tests.notifications.support import MailpitReader, User, running
from tests.support.problems import bearer

pytestmark = pytest.mark.anyio

AUDIENCE = 8
# Two recipients a page, four a second: the cursor moves every half second or sooner,
# and the lease (renewed per page) runs out 1.5 s after the sender stops.
SLOW = {
    "broadcast_page_size": 2,
    "broadcast_messages_per_second": 4.0,
    "broadcast_lease_seconds": 1.5,
    "broadcast_tick_seconds": 0.3,
}


async def _mails(mail: MailpitReader, users: list[User]) -> dict[str, int]:
    counts = await asyncio.gather(
        *(asyncio.to_thread(mail.messages_to, user.email) for user in users)
    )
    return {user.email: len(found) for user, found in zip(users, counts, strict=True)}


async def test_a_broadcast_interrupted_mid_way_resumes_without_resending(
    settings: NotificationsSettings,
    notify_auth: AuthServer,
    mail: MailpitReader,
    user_factory: Callable[[], User],
) -> None:
    users = [user_factory() for _ in range(AUDIENCE)]
    body = BroadcastCreate.model_validate(
        {
            "segment": {"locale": "ru"},
            "subject": {"en": "Flash sale", "ru": "Распродажа"},
            "body": {"en": "Today only.", "ru": "Только сегодня."},
        }
    )
    async with running(settings, **SLOW) as first:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://notifications"
        ) as http:
            for user in users:
                put = await http.put(
                    "/api/notifications/preferences",
                    json={"locale": "ru", "promotions": True},
                    headers=bearer(user.token),
                )
                assert put.status_code == 200, put.text
        broadcast = await container_of(first).get(Broadcasts).create(body, "admin")
        deadline = time.monotonic() + 60
        while sum((await _mails(mail, users)).values()) < AUDIENCE // 2:
            assert time.monotonic() < deadline, "the first sender never got half-way"
            await asyncio.sleep(0.1)
        # Leaving the block stops the app: the sender is cancelled where it is.
    stopped_at = await _mails(mail, users)
    assert 0 < sum(stopped_at.values()) < AUDIENCE, stopped_at

    async with running(settings, **SLOW) as second:
        store = container_of(second).get(Notifier).store
        broadcasts = BroadcastStore(store.db)
        deadline = time.monotonic() + 60
        while (record := await broadcasts.get(broadcast.id)) is None or record.status != "done":
            assert time.monotonic() < deadline, "the second process never finished it"
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything late would be there by now
        final = await _mails(mail, users)
        for user in users:
            status = await store.claim_status(broadcast.id, str(user.id), "email")
            # A claim the stopped sender made without settling it is not sent again: the
            # mail left or it did not (the stop came before or after the SMTP answer).
            expected = {0, 1} if status == "claimed" else {1}
            assert final[user.email] in expected, (user.email, status, final)
    stranded = sum(1 for count in final.values() if count == 0)
    assert stranded <= 1, final
    assert record.recipients >= AUDIENCE - 1


async def test_a_finished_broadcast_left_listed_as_running_is_forgotten(app: FastAPI) -> None:
    """Its sender died between marking it done and unlisting it: the next look unlists it
    and sends nothing."""
    broadcasts = container_of(app).get(Broadcasts)
    body = BroadcastCreate.model_validate(
        {"segment": {"locale": "en"}, "subject": {"en": "x"}, "body": {"en": "x"}}
    )
    record = BroadcastRecord(
        broadcast_id=uuid.uuid4(),
        locale="en",
        subjects={"en": body.subject.en},
        bodies={"en": body.body.en},
        status="running",
        cursor=None,
        recipients=0,
        created_by="admin",
        created_at=datetime.now(UTC),
        finished_at=None,
    )
    await broadcasts.store.create(record)
    await broadcasts.store.db.execute_async(
        "UPDATE broadcasts SET status = 'done' WHERE broadcast_id = ?", (record.broadcast_id,)
    )
    assert record.broadcast_id in await broadcasts.store.running()
    assert await broadcasts.send(record.broadcast_id) == "busy"
    assert record.broadcast_id not in await broadcasts.store.running()
