"""Tests of Cassandra roles need a node that checks passwords."""

from __future__ import annotations

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra


def require_authentication(node: Cassandra) -> Cassandra:
    """``node``, after checking that it enforces passwords and grants."""
    with cassandra_auth.session(node.contact_points[0], node.port, node.credentials) as db:
        assert cassandra_auth.authentication_enabled(db), (
            "devstack's Cassandra runs without authentication (started before devstack "
            "turned it on): `devstack down cassandra && devstack up cassandra`"
        )
    return node
