"""Kafka clients configured the one way the event layer uses them, and topic set-up.

Producers are idempotent with ``acks=all``: a batch retried after a lost ack
is written once, and records of one partition keep their order. Topics are
never auto-created (the clusters and devstack disable it): the operator
creates them in clusters, ``ensure_topics`` does it locally and in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError, for_code  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Where a consumer of ``topic`` parks records it cannot handle."""
    return f"{topic}{DLQ_SUFFIX}"


def bootstrap(servers: str | Sequence[str]) -> list[str]:
    """``host:port`` list from a comma-separated string or a sequence (settings give a list)."""
    items = servers.split(",") if isinstance(servers, str) else list(servers)
    found = [item.strip() for item in items if item.strip()]
    if not found:
        raise ValueError("no Kafka bootstrap servers given")
    return found


def idempotent_producer(
    servers: str | Sequence[str],
    *,
    client_id: str,
    request_timeout_ms: int = 30_000,
    linger_ms: int = 2,
) -> Any:
    """An (unstarted) AIOKafkaProducer with ``acks=all`` and idempotence; call in a running loop."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(servers),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        request_timeout_ms=request_timeout_ms,
        retry_backoff_ms=200,
    )


async def ensure_topics(
    servers: str | Sequence[str],
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    timeout_ms: int = 30_000,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created."""
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(servers), request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in wanted],
            timeout_ms=timeout_ms,
        )
    finally:
        await admin.close()
    created = []
    for entry in response.topic_errors:
        name, code = entry[0], entry[1]
        if code == 0:
            created.append(name)
            continue
        error = for_code(code)
        if error is TopicAlreadyExistsError:
            continue
        detail = entry[2] if len(entry) > 2 and entry[2] else error.__name__
        raise RuntimeError(f"cannot create Kafka topic {name!r}: {detail}")
    if created:
        log.info("created Kafka topics", extra={"topics": created})
    return created
