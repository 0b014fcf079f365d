"""An SMTP server as an e-mail provider (Mailpit on devstack): smtplib on a worker
thread, one connection a message, so a server that went away costs no stale socket."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage


class ProviderRefusedError(Exception):
    """The provider did not take the message (unreachable, timed out, refused it)."""


class SmtpProvider:
    def __init__(self, host: str, port: int, *, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.name = f"smtp:{host}:{port}"

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderRefusedError(f"{type(exc).__name__}: {exc}") from exc

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)
