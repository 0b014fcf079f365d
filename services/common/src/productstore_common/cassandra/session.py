"""One cassandra-driver Cluster and Session per process, with prepared statements and asyncio.

A service builds one ``CassandraSession`` at start-up (``await
CassandraSession.connect_async(...)`` in the FastAPI lifespan), passes it to
its routes, and closes it at shutdown. Plain parameters, not the settings
class, so the migrate command and tests can build one too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from cassandra import ConsistencyLevel, DriverException
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import PreparedStatement, SimpleStatement, Statement
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from productstore_common.cassandra.aio import Page, to_asyncio
from productstore_common.cassandra.exceptions import (
    CassandraConfigError,
    CassandraUnavailableError,
)
from productstore_common.telemetry.clients import (
    client_tracer,
    cql_span_attributes,
    cql_span_name,
)

log = logging.getLogger(__name__)

# Cassandra 4.0+ speaks v5; pinned so the driver never negotiates down
# (and never logs the downgrade dance) against a mixed-version cluster.
PROTOCOL_VERSION = 5

# The driver's default waits up to 600 s between attempts to reconnect to a node
# that went down: after a long outage a service would stay down for minutes after
# Cassandra came back. Doubling from 1 s up to this cap, it is back within seconds.
# (The policy's default also gives up after 64 attempts, which at this cap is
# about ten minutes of outage; ours never gives up: a process outlives outages.)
DEFAULT_RECONNECT_MAX_DELAY = 10.0

_KEYSPACE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_SERIAL_NAMES = frozenset({"SERIAL", "LOCAL_SERIAL"})
_REGULAR_NAMES = frozenset(ConsistencyLevel.name_to_value) - _SERIAL_NAMES

_RELEASE_VERSION = SimpleStatement(
    "SELECT release_version FROM system.local", consistency_level=ConsistencyLevel.ONE
)

Parameters = Sequence[Any] | Mapping[str, Any] | None

# Client spans only under a recording request span (see telemetry.clients).
_tracer = client_tracer(__name__)


def consistency_level(name: str) -> int:
    """The driver's value of a regular consistency name ("LOCAL_QUORUM", "one", ...)."""
    return _level(name, _REGULAR_NAMES, "consistency")


def serial_consistency_level(name: str) -> int:
    """The driver's value of a serial consistency name ("SERIAL" or "LOCAL_SERIAL")."""
    return _level(name, _SERIAL_NAMES, "serial consistency")


def _level(name: str, allowed: frozenset[str], what: str) -> int:
    key = name.strip().upper()
    if key not in allowed:
        raise CassandraConfigError(
            f"unknown {what} {name!r}; expected one of {', '.join(sorted(allowed))}"
        )
    value: int = ConsistencyLevel.name_to_value[key]
    return value


def keyspace_name(name: str) -> str:
    """A validated keyspace name, lower-cased as Cassandra stores unquoted names."""
    if not _KEYSPACE_NAME.match(name):
        raise CassandraConfigError(
            f"{name!r} is not a valid keyspace name (a letter, then up to 47 letters, "
            "digits or underscores)"
        )
    return name.lower()


def describe_unavailable(exc: BaseException) -> str:
    """One line that says why no node answered (NoHostAvailable nests an error per host)."""
    if isinstance(exc, NoHostAvailable) and isinstance(exc.errors, Mapping) and exc.errors:
        return "; ".join(f"{host}: {error}" for host, error in exc.errors.items())
    return str(exc) or type(exc).__name__


class CassandraSession:
    """Owns the process's Cluster and Session; thread-safe, usable from sync and async code."""

    def __init__(self, cluster: Cluster, session: Session) -> None:
        self.cluster = cluster
        self.session = session
        self._prepared: dict[str, PreparedStatement] = {}
        self._prepare_lock = threading.Lock()
        # Told each async request's duration and failure (None: it succeeded); the
        # service kit sets it to its CassandraClientMetrics.
        self.observer: Callable[[float, BaseException | None], None] | None = None

    @classmethod
    def connect(
        cls,
        *,
        contact_points: Sequence[str],
        port: int = 9042,
        local_dc: str,
        keyspace: str | None = None,
        consistency: str = "LOCAL_QUORUM",
        serial_consistency: str = "LOCAL_SERIAL",
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        schema_agreement_timeout: float = 30.0,
        application_name: str | None = None,
        reconnect_max_delay: float = DEFAULT_RECONNECT_MAX_DELAY,
    ) -> Self:
        """Connect (blocking); raises CassandraUnavailableError when no node answers.

        ``consistency``: LOCAL_QUORUM in clusters, ONE on a single local node.
        ``reconnect_max_delay``: the longest wait between attempts to reconnect to a
        node that is down, so the longest a recovered node goes unused.
        """
        if not contact_points:
            raise CassandraConfigError("no Cassandra contact points given")
        if (username is None) != (password is None):
            raise CassandraConfigError("Cassandra username and password go together: set both")
        keyspace = keyspace_name(keyspace) if keyspace else None
        profile = ExecutionProfile(
            # Token-aware first: the coordinator is a replica, one hop fewer.
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
            consistency_level=consistency_level(consistency),
            serial_consistency_level=serial_consistency_level(serial_consistency),
            request_timeout=request_timeout,
        )
        cluster = Cluster(
            contact_points=list(contact_points),
            port=port,
            protocol_version=PROTOCOL_VERSION,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            auth_provider=(
                PlainTextAuthProvider(username=username, password=password)
                if username is not None
                else None
            ),
            connect_timeout=connect_timeout,
            control_connection_timeout=connect_timeout,
            reconnection_policy=ExponentialReconnectionPolicy(
                base_delay=min(1.0, reconnect_max_delay),
                max_delay=reconnect_max_delay,
                max_attempts=None,
            ),
            max_schema_agreement_wait=schema_agreement_timeout,
            application_name=application_name,
            # Insights reporting is a DataStax Enterprise feature: nothing to do here.
            monitor_reporting_enabled=False,
        )
        try:
            session = cluster.connect(keyspace)
        except (NoHostAvailable, DriverException, OSError) as exc:
            # The control connection may have worked: then the DC name is wrong.
            metadata = cluster.metadata
            data_centres = {host.datacenter for host in metadata.all_hosts()} - {None}
            cluster.shutdown()
            where = ", ".join(f"{point}:{port}" for point in contact_points)
            reason = describe_unavailable(exc)
            if data_centres and local_dc not in data_centres:
                reason = (
                    f"no data centre is named {local_dc!r}; this cluster has "
                    f"{', '.join(sorted(data_centres))}: fix the local DC setting"
                )
            elif data_centres and keyspace and keyspace not in metadata.keyspaces:
                reason = "the keyspace does not exist: run the service's migrations first"
            raise CassandraUnavailableError(
                f"cannot connect to Cassandra at {where} (local DC {local_dc!r}"
                f"{f', keyspace {keyspace!r}' if keyspace else ''}): {reason}"
            ) from exc
        return cls(cluster, session)

    @classmethod
    async def connect_async(cls, **kwargs: Any) -> Self:
        """``connect`` on a worker thread, for FastAPI lifespans."""
        return await asyncio.to_thread(lambda: cls.connect(**kwargs))

    # --- prepared statements ----------------------------------------------------

    def prepare(self, cql: str) -> PreparedStatement:
        """The prepared statement of ``cql``; prepared on the first call only."""
        prepared = self._prepared.get(cql)
        if prepared is not None:
            return prepared
        with self._prepare_lock:
            # Double-checked: two threads asking at once still share one statement.
            prepared = self._prepared.get(cql)
            if prepared is None:
                prepared = self.session.prepare(cql)
                self._prepared[cql] = prepared
        return prepared

    async def prepare_async(self, cql: str) -> PreparedStatement:
        """``prepare`` without blocking the event loop on the first (network) call."""
        prepared = self._prepared.get(cql)
        if prepared is not None:
            return prepared
        return await asyncio.to_thread(self.prepare, cql)

    @staticmethod
    def _bind(
        statement: PreparedStatement | Statement,
        parameters: Parameters,
        fetch_size: int | None,
    ) -> tuple[Statement, Parameters]:
        if isinstance(statement, PreparedStatement):
            bound = statement.bind(parameters if parameters is not None else ())
            if fetch_size is not None:
                bound.fetch_size = fetch_size
            return bound, None
        if fetch_size is not None:
            # A Statement object may be shared (module constants): never mutate it.
            raise ValueError(
                "fetch_size applies to CQL strings and prepared statements; "
                "set it on the Statement itself"
            )
        return statement, parameters

    # --- execution ----------------------------------------------------------------

    def execute(
        self,
        statement: str | Statement | PreparedStatement,
        parameters: Parameters = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Blocking execute, for scripts and the migrate command; a str is prepared (cached).

        Returns the driver's ResultSet (iterating it fetches further pages).
        """
        prepared_or_statement = self.prepare(statement) if isinstance(statement, str) else statement
        bound, params = self._bind(prepared_or_statement, parameters, None)
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        span = self._start_span(prepared_or_statement)
        try:
            return self.session.execute(bound, params, **kwargs)
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            span.end()

    async def execute_async(
        self,
        statement: str | Statement | PreparedStatement,
        parameters: Parameters = None,
        *,
        paging_state: bytes | None = None,
        fetch_size: int | None = None,
        timeout: float | None = None,
    ) -> Page:
        """Execute without blocking the event loop; one page of rows.

        A str is prepared once and reused; pass a SimpleStatement for one-off
        or schema statements. ``paging_state`` continues a previous page.
        """
        if isinstance(statement, str):
            statement = await self.prepare_async(statement)
        bound, params = self._bind(statement, parameters, fetch_size)
        kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        span = self._start_span(statement)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            response_future = self.session.execute_async(
                bound, params, paging_state=paging_state, **kwargs
            )
            page = await to_asyncio(response_future)
        except BaseException as exc:
            failure = exc
            _fail(span, exc)
            raise
        else:
            if span.is_recording():
                span.set_attribute("db.response.returned_rows", len(page.rows))
            return page
        finally:
            span.end()
            if self.observer is not None:
                self.observer(time.perf_counter() - started, failure)

    def _start_span(self, statement: Statement | PreparedStatement) -> Span:
        """A CLIENT span for one request (non-recording, and nearly free, when the
        caller's span is not recorded); attributes are built for recorded ones only."""
        span = _tracer.start_span("CQL", kind=SpanKind.CLIENT)
        if span.is_recording():
            query = getattr(statement, "query_string", None)
            keyspace = _keyspace_of(statement) or self.session.keyspace
            attributes = cql_span_attributes(query if isinstance(query, str) else None, keyspace)
            span.update_name(cql_span_name(attributes))
            span.set_attributes(attributes)
        return span

    async def execute_all(
        self,
        statement: str | Statement | PreparedStatement,
        parameters: Parameters = None,
        *,
        fetch_size: int | None = None,
        timeout: float | None = None,
    ) -> list[Any]:
        """Every row, page by page, without blocking the event loop (bounded results only)."""
        rows: list[Any] = []
        paging_state: bytes | None = None
        while True:
            page = await self.execute_async(
                statement,
                parameters,
                paging_state=paging_state,
                fetch_size=fetch_size,
                timeout=timeout,
            )
            rows.extend(page.rows)
            if page.paging_state is None:
                return rows
            paging_state = page.paging_state

    async def ready(self, timeout: float = 2.0) -> bool:
        """Readiness: a node answers ``SELECT release_version FROM system.local`` in time."""
        try:
            page = await asyncio.wait_for(
                self.execute_async(_RELEASE_VERSION, timeout=timeout), timeout + 1.0
            )
        except Exception as exc:  # any failure means "not ready"
            log.warning("cassandra not ready: %s", describe_unavailable(exc))
            return False
        row = page.one()
        return row is not None and bool(row.release_version)

    # --- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Close every connection and the driver's threads; safe to call twice."""
        self.cluster.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _fail(span: Span, exc: BaseException) -> None:
    if span.is_recording():
        span.record_exception(exc)
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def _keyspace_of(statement: Statement | PreparedStatement) -> str | None:
    """The keyspace a statement works on; a prepared one knows it from its columns
    (``system.local`` has no statement keyspace, but its columns say ``system``)."""
    if statement.keyspace:
        return str(statement.keyspace)
    for columns in (
        getattr(statement, "column_metadata", None),
        getattr(statement, "result_metadata", None),
    ):
        if columns:
            return str(columns[0][0])
    return None
