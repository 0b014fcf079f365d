"""Who logs in to devstack's Cassandra: its superuser, and one role per service keyspace.

The node runs PasswordAuthenticator and CassandraAuthorizer, as a production
cluster does. devstack keeps a superuser of its own (`devstack`, its password in
`state/cassandra/superuser-password`, mode 0600) for itself and for tests that
create throw-away keyspaces; Cassandra's well-known `cassandra`/`cassandra` is
used once, to create it, and then dropped. Every service runs as a role named
after its keyspace, granted on that keyspace only
(`productstore_contracts.cassandra_roles`), its password in
`state/cassandra/roles/<keyspace>` (0600), handed to the process as a file.

The cassandra and services components both use this module; components never
import each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    Session,
)
from cassandra.policies import WhiteListRoundRobinPolicy

from devstack.errors import DevstackError
from devstack.files import read_or_create_secret
from devstack.paths import Paths
from productstore_contracts.cassandra_roles import (
    AUTHENTICATOR_QUERY,
    checks_passwords,
    create_role_statement,
    drop_role_statements,
    grant_statements,
    keyspace_statement,
    password_statement,
)

SUPERUSER = "devstack"
# What a fresh PasswordAuthenticator node lets in until devstack replaces it.
DEFAULT_SUPERUSER = ("cassandra", "cassandra")

# The replication of a service keyspace on one dev node (the services' default).
DEV_REPLICATION: Mapping[str, str | int] = {"class": "SimpleStrategy", "replication_factor": 1}
KEYSPACES_QUERY = "SELECT keyspace_name FROM system_schema.keyspaces"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def auth_provider(self) -> PlainTextAuthProvider:
        return PlainTextAuthProvider(username=self.username, password=self.password)


def _state_dir(paths: Paths) -> Path:
    return paths.component_dir("cassandra")


def superuser_password_file(paths: Paths) -> Path:
    return _state_dir(paths) / "superuser-password"


def superuser(paths: Paths) -> Credentials:
    """devstack's superuser; the password is made (0600) on first use."""
    return Credentials(SUPERUSER, read_or_create_secret(superuser_password_file(paths)))


def role_password_file(paths: Paths, keyspace: str) -> Path:
    return _state_dir(paths) / "roles" / keyspace


@contextlib.contextmanager
def session(
    address: str, port: int, credentials: Credentials | None, *, timeout: float = 10.0
) -> Iterator[Session]:
    """A driver session with exactly one node (no schema or token metadata: the
    readiness probe opens one every half second)."""
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([address]), request_timeout=timeout
    )
    cluster = Cluster(
        contact_points=[address],
        port=port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=5,
        connect_timeout=5,
        auth_provider=credentials.auth_provider() if credentials is not None else None,
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
    )
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def _authentication_failed(exc: NoHostAvailable) -> bool:
    return any(isinstance(error, AuthenticationFailed) for error in exc.errors.values())


def _logs_in(address: str, port: int, credentials: Credentials) -> bool:
    try:
        with session(address, port, credentials):
            return True
    except NoHostAvailable as exc:
        if _authentication_failed(exc):
            return False
        raise


def authentication_enabled(db: Session) -> bool:
    """Whether the node checks passwords (a node started before devstack turned
    authentication on runs AllowAllAuthenticator until it is restarted)."""
    row = db.execute(AUTHENTICATOR_QUERY).one()
    return checks_passwords(None if row is None else str(row.value))


def login(paths: Paths, address: str, port: int) -> Credentials:
    """The superuser that gets in: devstack's, or Cassandra's default one before set-up."""
    for credentials in (superuser(paths), Credentials(*DEFAULT_SUPERUSER)):
        try:
            with session(address, port, credentials):
                return credentials
        except NoHostAvailable as exc:
            if not _authentication_failed(exc):
                raise
    raise DevstackError(
        "cassandra",
        f"neither {SUPERUSER} nor the default superuser can log in to Cassandra at "
        f"{address}:{port}",
        hint=f"{superuser_password_file(paths)} does not match the node's data; "
        "`devstack down --purge cassandra` starts from empty data",
    )


def set_up_superuser(paths: Paths, address: str, port: int) -> None:
    """Make devstack's superuser and drop Cassandra's well-known one (idempotent)."""
    password = superuser(paths).password
    credentials = login(paths, address, port)
    with session(address, port, credentials) as db:
        if not authentication_enabled(db):
            return  # nothing to log in to until the node restarts with the new config
        db.execute(create_role_statement(SUPERUSER, password, superuser=True))
        if credentials.username != SUPERUSER and not _logs_in(address, port, superuser(paths)):
            # Left by earlier data with another password: this state directory's wins.
            db.execute(password_statement(SUPERUSER, password))
    with session(address, port, superuser(paths)) as db:
        # Logged in as devstack: the default superuser can go.
        db.execute(f"DROP ROLE IF EXISTS {DEFAULT_SUPERUSER[0]}")


def ensure_keyspace_role(
    paths: Paths,
    address: str,
    port: int,
    keyspace: str,
    replication: Mapping[str, str | int] = DEV_REPLICATION,
) -> tuple[str, Path] | None:
    """The role (named after ``keyspace``) and its password file for a service
    process, created and granted on ``keyspace`` only; None when the node does not
    check passwords (the process then logs in as nobody)."""
    password_file = role_password_file(paths, keyspace)
    password = read_or_create_secret(password_file)
    try:
        with session(address, port, superuser(paths)) as db:
            if not authentication_enabled(db):
                return None
            db.execute(keyspace_statement(keyspace, replication), timeout=60)
            db.execute(create_role_statement(keyspace, password))
            if not _logs_in(address, port, Credentials(keyspace, password)):
                # A role left with another password (its file was lost): the file wins.
                db.execute(password_statement(keyspace, password))
            for statement in grant_statements(keyspace, keyspace):
                db.execute(statement)
    except NoHostAvailable as exc:
        # Not the driver's message: it would not say what to do.
        raise DevstackError(
            "cassandra",
            f"cannot log in to Cassandra at {address}:{port} as {SUPERUSER} to create the "
            f"role of keyspace {keyspace}",
            hint="`devstack up cassandra` sets the superuser up; "
            f"its password is in {superuser_password_file(paths)}",
        ) from exc
    return keyspace, password_file


def drop_keyspace_role(paths: Paths, address: str, port: int, keyspace: str) -> None:
    """Remove a throw-away keyspace with its role and password file (benchmarks, tests)."""
    _drop_keyspace_roles(paths, address, port, lambda names: [keyspace])


def drop_keyspaces_with_prefix(paths: Paths, address: str, port: int, prefix: str) -> list[str]:
    """Remove every keyspace whose name starts with ``prefix``, with its role of the
    same name (a store's ``<prefix>_<service>`` keyspaces, which its operator keeps:
    tests that throw a store away). Returns the names dropped."""
    if not prefix:
        raise ValueError("an empty prefix would name every keyspace")
    return _drop_keyspace_roles(
        paths, address, port, lambda names: [name for name in names if name.startswith(prefix)]
    )


def _drop_keyspace_roles(
    paths: Paths, address: str, port: int, choose: Callable[[list[str]], list[str]]
) -> list[str]:
    with session(address, port, superuser(paths), timeout=120) as db:
        existing = [row.keyspace_name for row in db.execute(KEYSPACES_QUERY)]
        chosen = choose(existing)
        # Without authentication there is no role, and role statements are refused.
        role_too = authentication_enabled(db) if chosen else False
        for keyspace in chosen:
            for statement in drop_role_statements(role=keyspace, keyspace=keyspace):
                if role_too or statement.startswith("DROP KEYSPACE"):
                    db.execute(statement)
    for keyspace in chosen:
        role_password_file(paths, keyspace).unlink(missing_ok=True)
    return chosen
