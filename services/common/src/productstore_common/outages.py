"""A dependency that is down is a 503 with `Retry-After`, not a 500.

One table (`OUTAGES`) says which of each driver's exceptions mean "the server is
unreachable, overloaded or timed out" (retrying later may work) as opposed to "we
asked wrongly" (bad CQL, a missing topic, a refused credential: a 500, logged
with its traceback, because retrying will not help and someone must fix it). The
app's `UnhandledErrorMiddleware` asks `DependencyOutages.problem` about every
exception that escapes a route or a middleware, so no route catches driver errors
itself: an outage of any dependency answers

    503 application/problem+json, Retry-After: <dependency_retry_after_seconds>
    {"reason": "dependency_unavailable", "dependency": "cassandra", ...}

and counts `dependency_unavailable_total{service, dependency}`. The detail names
the dependency, never an address (the driver's message, with hosts and ports, goes
to the log).

A wrapped driver error counts too when it was raised `from` it (the chain of
`__cause__`s is searched), so a data layer may translate errors without losing the
503; an error raised `from None` is the wrapper's own verdict.

Readiness is separate (`health`): the checks fail during an outage, so the pod
leaves the Service's endpoints, and pass again when the driver has reconnected.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import cassandra
import cassandra.cluster
import cassandra.connection
import redis.exceptions
from aiokafka import errors as kafka_errors  # type: ignore[import-untyped]

from productstore_common.errors import Problem, problem
from productstore_common.telemetry.metrics import AppMetrics
from productstore_contracts.descriptor import Dependency

__all__ = [
    "DEPENDENCY_NAMES",
    "OUTAGES",
    "DependencyOutages",
    "Outage",
    "dependency_unavailable",
    "unavailable_dependency",
]

_logger = logging.getLogger(__name__)

# How a dependency is named to clients (the label and `dependency` member are the
# descriptor's names: "vault" is the Vault API, OpenBao on devstack).
DEPENDENCY_NAMES: dict[Dependency, str] = {
    "cassandra": "Cassandra",
    "redis": "Redis",
    "kafka": "Kafka",
    "vault": "Vault",
    "payments": "The payment provider",
    "mail": "The mail server",
}

# How deep a chain of `raise ... from ...` is searched; real chains are 1-3 long.
_MAX_CHAIN = 8

_Types = tuple[type[BaseException], ...]


def _optional(module: str, *names: str) -> _Types:
    """Exception classes of a library a service may not install (hvac is auth's only):
    none when it is absent, so the table costs a service nothing it does not use."""
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return ()
    return tuple(getattr(loaded, name) for name in names)


@dataclass(frozen=True)
class Outage:
    """The exceptions of one dependency's drivers that mean it is unavailable."""

    dependency: Dependency
    unavailable: _Types
    # Subclasses of `unavailable` that are configuration errors, not outages.
    except_: _Types = ()

    def matches(self, exc: BaseException) -> bool:
        return isinstance(exc, self.unavailable) and not isinstance(exc, self.except_)


OUTAGES: tuple[Outage, ...] = (
    Outage(
        "cassandra",
        (
            # No node could be reached (or every one tried failed): the driver's outage.
            cassandra.cluster.NoHostAvailable,
            # No answer within the request timeout: the node is down or overloaded.
            cassandra.OperationTimedOut,
            # The coordinator knows too few replicas are alive for the consistency.
            cassandra.Unavailable,
            # Replicas did not answer the coordinator in time (ReadTimeout, WriteTimeout).
            cassandra.Timeout,
            # The connection broke under the request, or every connection is busy.
            cassandra.connection.ConnectionException,
            cassandra.connection.ConnectionBusy,
        ),
        # Not listed, so a 500: InvalidRequest, SyntaxException, Unauthorized,
        # AuthenticationFailed (our statement or credentials are wrong), and
        # CoordinationFailure (ReadFailure, WriteFailure: replicas answered with an
        # error, e.g. too many tombstones; retrying reads the same data). Our
        # CassandraUnavailableError is raised from NoHostAvailable when no node
        # answers (found through the chain), and without a cause when the keyspace
        # is missing, which is no outage.
    ),
    Outage(
        "redis",
        (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
        # A wrong password or ACL is the deployment's error, not Redis being down.
        except_=(
            redis.exceptions.AuthenticationError,
            redis.exceptions.AuthorizationError,
            redis.exceptions.ExternalAuthProviderError,
        ),
    ),
    Outage(
        "kafka",
        (
            # aiokafka, the outbox relay's and the consumers' client.
            kafka_errors.KafkaConnectionError,
            kafka_errors.KafkaTimeoutError,
            kafka_errors.NoBrokersAvailable,
            kafka_errors.NodeNotReadyError,
            kafka_errors.RequestTimedOutError,
            kafka_errors.BrokerNotAvailableError,
            kafka_errors.LeaderNotAvailableError,
            kafka_errors.NotLeaderForPartitionError,
            kafka_errors.NotEnoughReplicasError,
            kafka_errors.NotEnoughReplicasAfterAppendError,
        ),
        # Not listed: UnknownTopicOrPartitionError (the topic was never created),
        # authorization errors, ProducerClosed (our own lifecycle bug).
    ),
    Outage(
        "vault",
        (
            # hvac speaks HTTP with requests: refused, reset, or no answer in time.
            *_optional("requests.exceptions", "ConnectionError", "Timeout"),
            # Vault's own 503 (sealed, standby without forwarding) and a proxy's 502.
            *_optional("hvac.exceptions", "VaultDown", "BadGateway"),
        ),
        # A certificate that does not verify is a configuration error. Forbidden,
        # Unauthorized, InvalidPath are not listed: they are answers, not outages.
        except_=_optional("requests.exceptions", "SSLError"),
    ),
    Outage(
        "payments",
        # The provider client's own verdict: unreachable, 5xx, 429, timed out with no
        # outcome found (productstore_common.payments). Loaded by name because the
        # payments client sits above this module in the package's layers.
        _optional("productstore_common.payments.provider", "PaymentsUnavailable"),
    ),
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from, and the members of an exception group."""
    pending, seen = [exc], 0
    while pending and seen < _MAX_CHAIN:
        current = pending.pop(0)
        seen += 1
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if current.__cause__ is not None:
            pending.append(current.__cause__)


def unavailable_dependency(exc: BaseException) -> Dependency | None:
    """The dependency whose outage `exc` is (or was raised from), or None."""
    for candidate in _chain(exc):
        for outage in OUTAGES:
            if outage.matches(candidate):
                return outage.dependency
    return None


def dependency_unavailable(dependency: Dependency, retry_after_seconds: int) -> Problem:
    """The 503 of an outage of `dependency`."""
    name = DEPENDENCY_NAMES[dependency]
    return problem(
        503,
        "dependency_unavailable",
        f"{name} is unavailable, so this request could not be completed; "
        f"retry in {retry_after_seconds} s.",
        headers={"Retry-After": str(retry_after_seconds)},
        dependency=dependency,
    )


class DependencyOutages:
    """Turns an outage into its 503 and counts it; `create_app` hands it to the
    `UnhandledErrorMiddleware`."""

    def __init__(self, metrics: AppMetrics, *, retry_after_seconds: int) -> None:
        if retry_after_seconds < 1:
            raise ValueError("retry_after_seconds must be at least 1")
        self.retry_after_seconds = retry_after_seconds
        self._service = metrics.service
        counter = metrics.counter(
            "dependency_unavailable_total",
            "Requests answered 503 because a dependency was unavailable, by dependency.",
            ("service", "dependency"),
        )
        # Every series exists from the start, at 0, so rate() and alerts see the
        # first outage rather than a series appearing.
        self._counters = {name: counter.labels(metrics.service, name) for name in DEPENDENCY_NAMES}

    def problem(self, exc: BaseException) -> Problem | None:
        """The 503 answering `exc` if it is an outage (counted and logged), else None."""
        dependency = unavailable_dependency(exc)
        if dependency is None:
            return None
        self._counters[dependency].inc()
        # One line, no traceback: the cause is known, and an outage fails many requests.
        _logger.warning(
            "%s unavailable: %s: %s", dependency, type(exc).__name__, str(exc)[:500] or "-"
        )
        return dependency_unavailable(dependency, self.retry_after_seconds)
