"""An SMS provider's HTTP API (devstack: the SMS stand-in, one account per provider).

``POST <base>/v1/messages`` with a bearer key and ``{"to", "body", "reference"}``;
2xx is accepted. The reference is the message's idempotency key (event, recipient,
channel): a provider that dedupes by it sends once even if a retry reaches it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from productstore_notifications.app.data.smtp import ProviderRefusedError


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    body: str
    reference: str


class SmsProvider:
    def __init__(self, base_url: str, *, api_key: str | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.name = f"sms:{self.base_url}"
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: Sms) -> None:
        if self.api_key is None:
            raise ProviderRefusedError("no NOTIFICATIONS_SMS_API_KEY: the provider needs one")
        try:
            response = await self._http.post(
                f"{self.base_url}/v1/messages",
                json={"to": message.to, "body": message.body, "reference": message.reference},
                headers={"Authorization": f"Bearer {self.api_key}"},
            )
        except httpx.HTTPError as exc:
            raise ProviderRefusedError(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            detail = response.text[:200]
            raise ProviderRefusedError(f"the provider answered {response.status_code}: {detail}")
