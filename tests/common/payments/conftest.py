"""The payments client's tests run against devstack's real sandbox process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from devstack.components.payments import PaymentsSandbox
from productstore_common.payments import SandboxPaymentProvider
from tests.support.payments import sandbox_http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def provider(payments_sandbox: PaymentsSandbox) -> AsyncIterator[SandboxPaymentProvider]:
    async with SandboxPaymentProvider(
        payments_sandbox.url, api_key=payments_sandbox.api_key()
    ) as client:
        yield client


@pytest.fixture
def sandbox_api(payments_sandbox: PaymentsSandbox) -> Iterator[httpx.Client]:
    with sandbox_http(payments_sandbox) as client:
        yield client
