"""E-mails per second from the notifications service's send path into Mailpit, and the
latency of one message (render + SMTP hand-over), on devstack.

    .venv/bin/python bench/notifications_smtp.py            # a few seconds
    BENCH_MESSAGES=2000 BENCH_CONCURRENCY=16 .venv/bin/python bench/notifications_smtp.py

Renders BENCH_MESSAGES order messages (en and ru alternately, HTML plus text) and hands
each to the provider chain (one SMTP server: Mailpit, its breaker) as the Notifier
does, BENCH_CONCURRENCY at a time (each on smtplib in a worker thread, one connection
a message). Not measured: the auth lookup and the Cassandra claim and log writes that
the service adds per message. Mailpit is started if it is not running (and stopped at
the end); the messages it received are deleted at the end.

Output: JSON on stdout and in bench/results/notifications-smtp.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import httpx

from devstack.component import Context
from devstack.components.mailpit import Mailpit
from devstack.paths import Paths
from devstack.stack import Stack
from productstore_notifications.app.data.smtp import SmtpProvider
from productstore_notifications.app.models import Locale
from productstore_notifications.app.services.providers import FailoverChain
from productstore_notifications.app.services.rendering import OrderFacts, render

RESULTS = Path(__file__).parent / "results" / "notifications-smtp.json"
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))


def _message(index: int, tag: str) -> EmailMessage:
    locale: Locale = "ru" if index % 2 else "en"
    facts = OrderFacts(str(uuid.uuid4()), datetime.now(UTC), Decimal("1234.50"), "EUR")
    rendered = render("order_placed", facts, locale)
    email = EmailMessage()
    email["From"] = "Product Store <no-reply@productstore.local>"
    email["To"] = f"bench-{tag}-{index}@example.com"
    email["Subject"] = rendered.subject
    email.set_content(rendered.text)
    email.add_alternative(rendered.html, subtype="html")
    return email


async def _run(mailpit: Mailpit, tag: str) -> dict[str, object]:
    chain = FailoverChain(
        [SmtpProvider(mailpit.smtp_host, mailpit.smtp_port, timeout=10)],
        failures=3,
        reset_seconds=30,
    )
    latencies: list[float] = []
    failed = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(MESSAGES):
        queue.put_nowait(index)

    async def worker() -> None:
        nonlocal failed
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            result = await chain.send(_message(index, tag))
            latencies.append((time.perf_counter() - started) * 1000)
            failed += result.sent_by is None

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "messages": MESSAGES,
        "concurrency": CONCURRENCY,
        "failed": failed,
        "seconds": round(elapsed, 3),
        "emails_per_second": round(MESSAGES / elapsed, 1),
        "latency_ms": {
            "p50": round(statistics.median(ordered), 2),
            "p99": round(ordered[int(len(ordered) * 0.99) - 1], 2),
            "max": round(ordered[-1], 2),
        },
    }


def main() -> None:
    stack = Stack(Context(paths=Paths.from_env(), tie_to_parent=True))
    started = [r.name for r in stack.up(["mailpit"]) if r.action == "started"]
    mailpit = stack.components["mailpit"]
    if not isinstance(mailpit, Mailpit):
        raise TypeError("the registry's mailpit is not a Mailpit")
    tag = uuid.uuid4().hex[:8]
    try:
        result = asyncio.run(_run(mailpit, tag))
        with httpx.Client(base_url=mailpit.url, timeout=30) as http:
            found = http.get("/api/v1/search", params={"query": f"to:bench-{tag}-"}).json()
            result["received_by_mailpit"] = found["messages_count"]
            http.delete("/api/v1/search", params={"query": f"to:bench-{tag}-"})
    finally:
        if started:
            stack.down(started, dependents=False)
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    result["load_average"] = os.getloadavg()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
