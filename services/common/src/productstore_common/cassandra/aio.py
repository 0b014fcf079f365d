"""asyncio bridge for cassandra-driver: await a ResponseFuture without blocking the event loop.

The driver completes requests on its own I/O thread and runs the callbacks
there; the asyncio future may only be touched from its loop's thread, so each
callback hands the outcome over with ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cassandra.cluster import ResponseFuture


@dataclass(frozen=True)
class Page:
    """One page of a result: its rows and the state that fetches the next one.

    Pages are fetched explicitly, so a page never fetches more by itself:
    iterating the driver's ResultSet past its first page would block the
    event loop. ``paging_state`` must not come from a client unverified: a
    forged one makes the driver drop the connection and mark the host down.
    """

    rows: Sequence[Any]
    paging_state: bytes | None
    column_names: Sequence[str] = ()

    def one(self) -> Any:
        """The first row, or None for an empty result (typed Any like the driver's rows)."""
        return self.rows[0] if self.rows else None

    @property
    def was_applied(self) -> bool:
        """For a lightweight transaction (``IF ...``): whether its condition held."""
        row = self.one()
        if row is None or not self.column_names or self.column_names[0] != "[applied]":
            raise ValueError("was_applied needs the result of a conditional (IF ...) statement")
        return bool(row[0] if isinstance(row, tuple) else row["[applied]"])


def _settle(future: asyncio.Future[Page], response_future: ResponseFuture) -> None:
    # A cancelled awaiter (request timeout in the route, client went away)
    # leaves a done future behind: the late driver result is dropped.
    if future.done():
        return
    try:
        result = response_future.result()  # already complete: returns at once
    except Exception as exc:  # handed over to the awaiting coroutine
        future.set_exception(exc)
        return
    future.set_result(
        Page(
            rows=list(result.current_rows),
            paging_state=result.paging_state,
            column_names=tuple(result.column_names or ()),
        )
    )


def to_asyncio(response_future: ResponseFuture) -> asyncio.Future[Page]:
    """An asyncio future of ``response_future``'s first page; call it on the loop's thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Page] = loop.create_future()

    def hand_over(_: Any = None) -> None:
        # The loop may be closed when a request outlives the app's shutdown.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, response_future)

    # Callbacks on an already finished future run at once, on this thread:
    # call_soon_threadsafe is correct there too.
    response_future.add_callbacks(hand_over, hand_over)
    return future
