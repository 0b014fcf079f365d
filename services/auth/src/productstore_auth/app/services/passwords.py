"""argon2id password hashing off the event loop.

A hash costs tens of milliseconds of CPU and `memory_kib` of RAM, so it runs
on a worker thread, and a semaphore bounds how many run at once (a login
flood must not exhaust the pod's memory or starve every other request).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(
        self, *, time_cost: int, memory_kib: int, parallelism: int, concurrency: int
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(concurrency)
        # Verified when the e-mail address is unknown, so that answer takes as
        # long as a wrong password and does not reveal which addresses exist.
        self._dummy_hash = self._hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; a None hash spends the same time and says no."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than today's (upgrade at login)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
