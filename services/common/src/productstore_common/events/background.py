"""The lifecycle the outbox relay and the consumer share: one asyncio task."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class BackgroundLoop(ABC):
    """start() runs `run()` as a task; stop() asks it to finish, then cancels.

    `run()` must return soon after `self._stop` is set; stop() waits up to
    stop_timeout for that, then cancels the task. Usable as `async with`.
    """

    def __init__(self, *, task_name: str, stop_timeout: float) -> None:
        self._task_name = task_name
        self._stop_timeout = stop_timeout
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run(self) -> None:
        """The loop; returns once self._stop is set."""

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError(f"{self._task_name} is already running")
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name=self._task_name)

    async def stop(self) -> None:
        """Let the current unit of work finish (or cancel after stop_timeout)."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self._stop_timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
