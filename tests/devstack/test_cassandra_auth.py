"""devstack's Cassandra checks passwords and grants: each service's role reaches its
own keyspace and nothing else (a compromised catalog cannot read auth's password
hashes), and devstack makes those roles the way `devstack up <service>` does."""

from __future__ import annotations

import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cassandra import Unauthorized

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from devstack.components.services import AuthService, CatalogService, UvicornService
from productstore_auth.app.data import migrations_dir as auth_migrations
from productstore_common.cassandra import CassandraSession, CassandraUnavailableError, Migrator
from tests.common.cassandra.support import SIMPLE_RF1
from tests.support.cassandra_auth import require_authentication


@dataclass(frozen=True)
class Role:
    keyspace: str
    username: str
    password_file: Path

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()


def _role_of(component: UvicornService, keyspace: str) -> Role:
    """What `devstack up` does for a service: make its role, hand the process its login."""
    component.ensure_cassandra_role(keyspace)
    env = component.process_spec(keyspace=keyspace).env
    prefix = component.env_prefix
    return Role(
        keyspace,
        env[f"{prefix}CASSANDRA_USERNAME"],
        Path(env[f"{prefix}CASSANDRA_PASSWORD_FILE"]),
    )


def _login(node: Cassandra, username: str | None, password: str | None) -> CassandraSession:
    return CassandraSession.connect(
        contact_points=node.contact_points,
        port=node.port,
        local_dc=node.local_dc,
        consistency="ONE",
        username=username,
        password=password,
        connect_timeout=10,
    )


@pytest.fixture(scope="module")
def checks_passwords(cassandra: Cassandra) -> Cassandra:
    return require_authentication(cassandra)


@pytest.fixture(scope="module")
def roles(checks_passwords: Cassandra) -> Iterator[tuple[Role, Role]]:
    """auth's and the catalog's roles on throw-away keyspaces; auth's migrated by its role."""
    node = checks_passwords
    tag = uuid.uuid4().hex[:10]
    auth = _role_of(AuthService(node.ctx), f"auth_{tag}")
    catalog = _role_of(CatalogService(node.ctx), f"catalog_{tag}")
    try:
        with _login(node, auth.username, auth.password) as db:
            # Its own role suffices for the migrations: the tables, the history and
            # the LWT lock all live in its keyspace.
            report = Migrator(
                db, auth.keyspace, auth_migrations(), replication=SIMPLE_RF1
            ).migrate()
            assert [m.name for m in report.applied] == ["V0001__create_auth_tables.cql"]
        yield auth, catalog
    finally:
        for role in (auth, catalog):
            cassandra_auth.drop_keyspace_role(
                node.paths, node.contact_points[0], node.port, role.keyspace
            )


def test_the_superuser_password_is_private_and_the_defaults_are_gone(
    checks_passwords: Cassandra,
) -> None:
    node = checks_passwords
    mode = cassandra_auth.superuser_password_file(node.paths).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    for username, password in [(None, None), cassandra_auth.DEFAULT_SUPERUSER]:
        with pytest.raises(CassandraUnavailableError, match="uthenticat"):
            _login(node, username, password).close()


def test_a_service_role_reads_and_writes_its_own_keyspace(
    checks_passwords: Cassandra, roles: tuple[Role, Role]
) -> None:
    auth, _ = roles
    assert auth.username == auth.keyspace
    assert stat.S_IMODE(auth.password_file.stat().st_mode) == 0o600
    user_id = uuid.uuid4()
    with _login(checks_passwords, auth.username, auth.password) as db:
        db.session.execute(
            f"INSERT INTO {auth.keyspace}.users (id, email, password_hash) VALUES (%s, %s, %s)",  # noqa: S608
            (user_id, "ada@example.com", "$argon2id$not-a-real-hash"),
        )
        row = db.session.execute(
            f"SELECT password_hash FROM {auth.keyspace}.users WHERE id = %s",  # noqa: S608
            (user_id,),
        ).one()
    assert row.password_hash == "$argon2id$not-a-real-hash"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT password_hash FROM {auth}.users",
        "INSERT INTO {auth}.users (id, email) VALUES (uuid(), 'eve@example.com')",
        "DROP TABLE {auth}.users",
        "CREATE TABLE {auth}.stolen (id int PRIMARY KEY)",
        "GRANT SELECT ON KEYSPACE {auth} TO {catalog}",
        "CREATE KEYSPACE {catalog}_more WITH replication = "
        "{{'class': 'SimpleStrategy', 'replication_factor': 1}}",
        "CREATE ROLE {catalog}_more WITH LOGIN = true AND PASSWORD = 'x-7f3a91c2'",
    ],
)
def test_the_catalog_role_is_refused_outside_its_keyspace(
    checks_passwords: Cassandra, roles: tuple[Role, Role], statement: str
) -> None:
    auth, catalog = roles
    cql = statement.format(auth=auth.keyspace, catalog=catalog.keyspace)
    with (
        _login(checks_passwords, catalog.username, catalog.password) as db,
        pytest.raises(Unauthorized),
    ):
        db.session.execute(cql)


def test_making_a_role_again_keeps_it_and_a_new_password_file_wins(
    checks_passwords: Cassandra, roles: tuple[Role, Role]
) -> None:
    node = checks_passwords
    _, catalog = roles
    component = CatalogService(node.ctx)
    assert _role_of(component, catalog.keyspace) == catalog  # nothing changes
    with _login(node, catalog.username, catalog.password) as db:
        db.session.execute(f"CREATE TABLE IF NOT EXISTS {catalog.keyspace}.t (id int PRIMARY KEY)")
    # A password file lost (or replaced) while the role stayed: the role takes the
    # file's password. Cassandra refuses a second password change within 5 s.
    old = catalog.password
    catalog.password_file.unlink()
    time.sleep(5.5)
    again = _role_of(component, catalog.keyspace)
    assert again.password != old
    # Nodes cache credentials for 2 s (credentials_validity): the change shows after it.
    _eventually_logs_in(node, again, accepted=True)
    with _login(node, again.username, again.password) as db:
        db.session.execute(f"SELECT id FROM {catalog.keyspace}.t")  # noqa: S608 - our keyspace
    assert not _logs_in(node, catalog.username, old)


def _logs_in(node: Cassandra, username: str, password: str) -> bool:
    try:
        _login(node, username, password).close()
    except CassandraUnavailableError as exc:
        assert "Bad credentials" in str(exc)  # only a refusal counts
        return False
    return True


def _eventually_logs_in(node: Cassandra, role: Role, *, accepted: bool) -> None:
    deadline = time.monotonic() + 10
    while _logs_in(node, role.username, role.password) != accepted:
        assert time.monotonic() < deadline, f"{role.username} still not {accepted=}"
        time.sleep(0.5)


def test_keyspaces_are_dropped_by_prefix_with_their_roles_and_nothing_else(
    checks_passwords: Cassandra,
) -> None:
    node = checks_passwords
    tag = uuid.uuid4().hex[:10]
    component = CatalogService(node.ctx)
    gone = [_role_of(component, f"gone_{tag}_{service}") for service in ("auth", "catalog")]
    kept = _role_of(component, f"gone_{tag}x_catalog")  # the prefix with no "_" after it
    try:
        dropped = cassandra_auth.drop_keyspaces_with_prefix(
            node.paths, node.contact_points[0], node.port, f"gone_{tag}_"
        )
        assert sorted(dropped) == sorted(role.keyspace for role in gone)
        with _superuser(node) as db:
            names = {
                row.keyspace_name for row in db.session.execute(cassandra_auth.KEYSPACES_QUERY)
            }
            roles = {row.role for row in db.session.execute("SELECT role FROM system_auth.roles")}
        assert kept.keyspace in names
        assert not names & set(dropped)
        assert kept.username in roles
        assert not roles & {role.username for role in gone}
        for role in gone:
            assert not role.password_file.exists()
        assert _logs_in(node, kept.username, kept.password)
    finally:
        cassandra_auth.drop_keyspace_role(
            node.paths, node.contact_points[0], node.port, kept.keyspace
        )
    with pytest.raises(ValueError, match="every keyspace"):
        cassandra_auth.drop_keyspaces_with_prefix(node.paths, node.contact_points[0], node.port, "")


def _superuser(node: Cassandra) -> CassandraSession:
    credentials = cassandra_auth.superuser(node.paths)
    return _login(node, credentials.username, credentials.password)
