"""An external Cassandra, as its administrator credential sees it: each service's
own role (granted on its own keyspace only), and on deletion the roles and, with
``deletionPolicy: Delete``, the keyspaces.

The statements are ``productstore_contracts.cassandra_roles``' (devstack runs the
same ones). They carry passwords, so nothing here logs a statement or repeats a
server's answer: an error says what failed, where, and what to check.

The driver is blocking: every public coroutine runs on a worker thread, with a
connection of its own that it closes (a pass touches Cassandra rarely: only when
what the store wants changed, see ``reconcile.cassandra_roles``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from cassandra import AuthenticationFailed, DriverException, OperationTimedOut, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import DCAwareRoundRobinPolicy

from productstore_contracts.cassandra_roles import (
    AUTHENTICATOR_QUERY,
    RoleError,
    checks_passwords,
    create_role_statement,
    drop_role_statements,
    grant_statements,
    keyspace_statement,
    password_statement,
)
from productstore_operator.io.errors import TransientError

# What the administrator role needs, said whenever Cassandra refuses it something.
ADMIN_NEEDS = (
    "the administrator role must be a superuser, or hold CREATE, ALTER and DROP on ALL "
    "ROLES and CREATE, DROP and AUTHORIZE on ALL KEYSPACES"
)


@dataclass(frozen=True)
class CassandraTarget:
    """Where the cluster is (spec.cassandra.external)."""

    contact_points: tuple[str, ...]
    port: int
    local_dc: str

    def __str__(self) -> str:
        return f"{','.join(self.contact_points)}:{self.port}"


@dataclass(frozen=True)
class ServiceRole:
    """One service's role: named after its keyspace, granted on it only."""

    service: str
    role: str
    keyspace: str
    password: str = field(repr=False)


def _authentication_failed(exc: NoHostAvailable) -> bool:
    return any(isinstance(error, AuthenticationFailed) for error in exc.errors.values())


class CqlAdmin:
    """The external cluster, logged in as its administrator."""

    def __init__(
        self,
        target: CassandraTarget,
        username: str,
        password: str,
        *,
        credential_source: str,
        timeout: float = 15.0,
    ) -> None:
        self.target = target
        self._username = username
        self._password = password
        # Where the credential came from, for errors (a Vault path, never its value).
        self._source = credential_source
        self._timeout = timeout

    @contextlib.contextmanager
    def _session(self, username: str, password: str) -> Iterator[Session]:
        profile = ExecutionProfile(
            load_balancing_policy=DCAwareRoundRobinPolicy(self.target.local_dc),
            request_timeout=self._timeout,
        )
        cluster = Cluster(
            contact_points=list(self.target.contact_points),
            port=self.target.port,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            auth_provider=PlainTextAuthProvider(username=username, password=password),
            protocol_version=5,
            connect_timeout=self._timeout,
            # Role and keyspace statements need no token map, and the schema is read
            # only to wait for agreement after a change.
            token_metadata_enabled=False,
        )
        try:
            yield cluster.connect()
        finally:
            cluster.shutdown()

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Session]:
        try:
            with self._session(self._username, self._password) as session:
                yield session
        except NoHostAvailable as exc:
            if _authentication_failed(exc):
                raise TransientError(
                    f"Cassandra at {self.target} refused the administrator credential "
                    f"({self._source}): check its username and password"
                ) from None
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> TransientError:
        return TransientError(
            f"cannot reach Cassandra at {self.target} ({type(exc).__name__}); check "
            "spec.cassandra.external and that the operator may connect to it"
        )

    def _run(self, session: Session, statement: str, what: str) -> None:
        try:
            session.execute(statement, timeout=self._timeout * 4)
        except Unauthorized:
            raise TransientError(
                f"Cassandra at {self.target} does not let the administrator ({self._source}) "
                f"{what}: {ADMIN_NEEDS}"
            ) from None
        except (NoHostAvailable, OperationTimedOut) as exc:
            raise self._unreachable(exc) from None
        except DriverException as exc:
            # The server's message is not repeated: it may quote the statement.
            raise TransientError(
                f"Cassandra at {self.target} refused to {what} ({type(exc).__name__})"
            ) from None

    def _logs_in(self, role: ServiceRole) -> bool:
        try:
            with self._session(role.role, role.password):
                return True
        except NoHostAvailable as exc:
            if _authentication_failed(exc):
                return False
            raise self._unreachable(exc) from None

    def _checks_passwords(self, session: Session) -> bool:
        try:
            row = session.execute(AUTHENTICATOR_QUERY, timeout=self._timeout).one()
        except (NoHostAvailable, OperationTimedOut) as exc:
            raise self._unreachable(exc) from None
        except DriverException:
            return True  # no system_views (before 4.0): assume it does
        return checks_passwords(None if row is None else str(row.value))

    def _ensure(
        self, roles: Sequence[ServiceRole], replication: Mapping[str, str | int]
    ) -> list[str] | None:
        reset: list[str] = []
        try:
            with self._admin() as session:
                if not self._checks_passwords(session):
                    return None
                for role in roles:
                    self._run(
                        session,
                        keyspace_statement(role.keyspace, replication),
                        f"create keyspace {role.keyspace}",
                    )
                    self._run(
                        session,
                        create_role_statement(role.role, role.password),
                        f"create role {role.role}",
                    )
                    if not self._logs_in(role):
                        # A role left with another password: Vault's is the one the
                        # pods read.
                        self._run(
                            session,
                            password_statement(role.role, role.password),
                            f"set the password of role {role.role}",
                        )
                        reset.append(role.role)
                    for statement in grant_statements(role.role, role.keyspace):
                        self._run(session, statement, f"grant role {role.role} its keyspace")
        except RoleError as exc:
            raise TransientError(str(exc)) from None
        return reset

    async def ensure_roles(
        self, roles: Sequence[ServiceRole], replication: Mapping[str, str | int]
    ) -> list[str] | None:
        """Make each service's keyspace, its role (LOGIN, its password) and the
        grants on that keyspace; idempotent. Returns the roles whose password had
        to be set again, or None (nothing done) when the cluster lets anyone in
        (AllowAllAuthenticator): there, roles protect nothing."""
        return await asyncio.to_thread(self._ensure, roles, replication)

    def _drop(self, roles: Sequence[tuple[str, str]], keyspaces: bool) -> None:
        with self._admin() as session:
            # A cluster that lets anyone in has no roles of ours, and refuses role
            # statements from its anonymous user.
            with_roles = self._checks_passwords(session)
            for role, keyspace in roles:
                for statement in drop_role_statements(
                    role=role, keyspace=keyspace if keyspaces else None
                ):
                    if statement.startswith("DROP KEYSPACE"):
                        self._run(session, statement, f"drop keyspace {keyspace}")
                    elif with_roles:
                        self._run(session, statement, f"drop role {role}")

    async def drop_roles(self, roles: Sequence[tuple[str, str]], *, keyspaces: bool) -> None:
        """Drop each ``(role, keyspace)``'s role, and the keyspace too when
        ``keyspaces`` (the data is gone); what is already gone is no error."""
        await asyncio.to_thread(self._drop, roles, keyspaces)
