"""CqlAdmin against devstack's Cassandra (passwords and grants on): each service's
role reaches its own keyspace only; making roles is idempotent; dropping takes the
roles, and the keyspaces when asked; errors say what failed and echo no server text."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from cassandra import Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable, Session

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from productstore_operator.io import CassandraTarget, CqlAdmin, ServiceRole, TransientError
from tests.common.cassandra.support import SIMPLE_RF1
from tests.support.cassandra_auth import require_authentication


def target_of(node: Cassandra, port: int | None = None) -> CassandraTarget:
    return CassandraTarget(tuple(node.contact_points), port or node.port, node.local_dc)


def admin_of(node: Cassandra, password: str | None = None, username: str | None = None) -> CqlAdmin:
    superuser = node.credentials
    return CqlAdmin(
        target_of(node),
        username or superuser.username,
        password or superuser.password,
        credential_source="the test's superuser",
        timeout=5,
    )


def login(node: Cassandra, role: ServiceRole) -> tuple[Cluster, Session]:
    cluster = Cluster(
        list(node.contact_points),
        port=node.port,
        protocol_version=5,
        auth_provider=PlainTextAuthProvider(role.role, role.password),
    )
    return cluster, cluster.connect()


def logs_in(node: Cassandra, role: ServiceRole) -> bool:
    try:
        cluster, _ = login(node, role)
    except NoHostAvailable:
        return False
    cluster.shutdown()
    return True


def keyspaces(node: Cassandra) -> set[str]:
    with cassandra_auth.session(node.contact_points[0], node.port, node.credentials) as db:
        return {
            row.keyspace_name
            for row in db.execute("SELECT keyspace_name FROM system_schema.keyspaces")
        }


@pytest.fixture
def node(cassandra: Cassandra) -> Cassandra:
    return require_authentication(cassandra)


@pytest.fixture
def roles(node: Cassandra) -> Iterator[list[ServiceRole]]:
    tag = uuid.uuid4().hex[:8]
    made = [
        ServiceRole(service, f"ps_io_{tag}_{service}", f"ps_io_{tag}_{service}", uuid.uuid4().hex)
        for service in ("auth", "catalog")
    ]
    yield made
    asyncio.run(admin_of(node).drop_roles([(r.role, r.keyspace) for r in made], keyspaces=True))


def test_roles_are_made_idempotently_and_kept_to_their_keyspaces(
    node: Cassandra, roles: list[ServiceRole]
) -> None:
    admin = admin_of(node)
    assert asyncio.run(admin.ensure_roles(roles, SIMPLE_RF1)) == []
    assert asyncio.run(admin.ensure_roles(roles, SIMPLE_RF1)) == []  # nothing to change
    auth, catalog = roles
    cluster, db = login(node, auth)
    try:
        db.execute(f"CREATE TABLE {auth.keyspace}.users (id int PRIMARY KEY, hash text)")
        db.execute(f"INSERT INTO {auth.keyspace}.users (id, hash) VALUES (1, 'h')")  # noqa: S608
    finally:
        cluster.shutdown()
    cluster, db = login(node, catalog)
    try:
        for statement in (
            f"SELECT hash FROM {auth.keyspace}.users",  # noqa: S608
            f"INSERT INTO {auth.keyspace}.users (id, hash) VALUES (2, 'x')",  # noqa: S608
            f"DROP KEYSPACE {auth.keyspace}",
        ):
            with pytest.raises(Unauthorized):
                db.execute(statement)
        db.execute(f"CREATE TABLE {catalog.keyspace}.products (id int PRIMARY KEY)")
    finally:
        cluster.shutdown()


def test_a_changed_password_is_set_again_and_deletion_drops_roles_then_keyspaces(
    node: Cassandra, roles: list[ServiceRole]
) -> None:
    admin = admin_of(node)
    asyncio.run(admin.ensure_roles(roles, SIMPLE_RF1))
    auth, catalog = roles
    # Vault's entry is the truth: a role with another password gets Vault's back.
    # (Cassandra refuses a second password change of a role within 5 s.)
    time.sleep(5.5)
    renewed = ServiceRole(catalog.service, catalog.role, catalog.keyspace, uuid.uuid4().hex)
    assert asyncio.run(admin.ensure_roles([auth, renewed], SIMPLE_RF1)) == [catalog.role]
    deadline = time.monotonic() + 10  # nodes cache credentials for 2 s
    while not logs_in(node, renewed):
        assert time.monotonic() < deadline
        time.sleep(0.5)

    pairs = [(r.role, r.keyspace) for r in roles]
    asyncio.run(admin.drop_roles(pairs, keyspaces=False))  # Retain: the data stays
    assert not logs_in(node, auth)
    assert {auth.keyspace, catalog.keyspace} <= keyspaces(node)
    asyncio.run(admin.drop_roles(pairs, keyspaces=True))  # Delete
    assert not {auth.keyspace, catalog.keyspace} & keyspaces(node)
    asyncio.run(admin.drop_roles(pairs, keyspaces=True))  # gone already: no error


@pytest.fixture
def powerless(node: Cassandra) -> Iterator[tuple[str, str]]:
    """A role that may log in and nothing else."""
    name, password = f"ps_io_weak_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with cassandra_auth.session(node.contact_points[0], node.port, node.credentials) as db:
        db.execute(f"CREATE ROLE {name} WITH LOGIN = true AND PASSWORD = '{password}'")
    yield name, password
    with cassandra_auth.session(node.contact_points[0], node.port, node.credentials) as db:
        db.execute(f"DROP ROLE IF EXISTS {name}")


def test_errors_say_what_failed_and_repeat_no_server_text(
    node: Cassandra, roles: list[ServiceRole], powerless: tuple[str, str]
) -> None:
    wrong = "wrong-password-5d1c"
    cases = [
        (admin_of(node, password=wrong), "refused the administrator credential (the test's"),
        (
            CqlAdmin(target_of(node, port=1), "u", "p", credential_source="x", timeout=2),
            "cannot reach Cassandra at 127.0.0.1:1",
        ),
        (
            admin_of(node, username=powerless[0], password=powerless[1]),
            "does not let the administrator (the test's superuser) create keyspace",
        ),
    ]
    for admin, message in cases:
        with pytest.raises(TransientError) as raised:
            asyncio.run(admin.ensure_roles(roles, SIMPLE_RF1))
        text = str(raised.value)
        assert message in text
        # Neither the server's words nor any password.
        assert "Provided username" not in text and "line 1:" not in text
        assert not any(
            secret in text for secret in (wrong, powerless[1], *(r.password for r in roles))
        )
