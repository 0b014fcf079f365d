"""A service's own Cassandra role, as CQL text: what it may do, and nothing more.

Every service logs in to Cassandra as a role of its own that is granted on its
own keyspace only, so a compromised service cannot read another's tables (the
catalog cannot read auth's password hashes). devstack (with its superuser) and
the operator (with the administrator credential of an external cluster) run
these same statements; this module only writes them, it connects to nothing.

How to run them, idempotently: the keyspace statement; the role statement; the
password statement only when the role's password does not log in (a role left
with another password); the grants. The statements carry the role's
password as a literal (CQL has no bind marker for role options): never log
them, and never echo a server's answer to them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Final

__all__ = [
    "AUTHENTICATOR_QUERY",
    "KEYSPACE_PERMISSIONS",
    "RoleError",
    "checks_passwords",
    "create_role_statement",
    "drop_role_statements",
    "grant_statements",
    "keyspace_statement",
    "password_statement",
    "replication_literal",
]

# The node's authenticator (a virtual table every role may read, Cassandra 4.0+).
AUTHENTICATOR_QUERY: Final = "SELECT value FROM system_views.settings WHERE name = 'authenticator'"


def checks_passwords(authenticator: str | None) -> bool:
    """Whether a node whose AUTHENTICATOR_QUERY answered ``authenticator`` checks
    passwords: AllowAllAuthenticator lets anyone in, and roles mean nothing there
    (it refuses to store passwords, too)."""
    return authenticator is None or "AllowAll" not in authenticator


# What a service does in its keyspace: its migrations create, alter and drop
# tables (and the LWT lock and history tables live there too), its requests
# read and write. Not AUTHORIZE (granting others access), nothing on any other
# keyspace, and no CREATE on ALL KEYSPACES: whoever creates the role creates
# the keyspace first.
KEYSPACE_PERMISSIONS: Final = ("CREATE", "ALTER", "DROP", "SELECT", "MODIFY")

# Unquoted CQL identifiers (Cassandra folds them to lower case): a keyspace or
# role name is never quoted, so it can never smuggle a statement in.
_IDENTIFIER: Final = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_REPLICATION_VALUE: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RoleError(ValueError):
    """A role, keyspace or replication map that cannot be written as CQL."""


def _identifier(kind: str, name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise RoleError(
            f"{kind} {name!r} is not a lower-case CQL identifier (a letter, then up to "
            "47 letters, digits or underscores)"
        )
    return name


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def replication_literal(replication: Mapping[str, str | int]) -> str:
    """``{'class': 'SimpleStrategy', 'replication_factor': 1}`` as CQL."""
    if "class" not in replication:
        raise RoleError('a replication map needs a "class"')
    parts = []
    for key, value in replication.items():
        if not _REPLICATION_VALUE.match(key) or not _REPLICATION_VALUE.match(str(value)):
            raise RoleError(f"replication {json.dumps(dict(replication))} is not a plain map")
        parts.append(f"{_string(key)}: {_string(str(value))}")
    return "{" + ", ".join(parts) + "}"


def keyspace_statement(keyspace: str, replication: Mapping[str, str | int]) -> str:
    """The service's keyspace, made before its role: a grant names an existing
    resource, and the role itself may not create keyspaces."""
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {_identifier('keyspace', keyspace)} "
        f"WITH replication = {replication_literal(replication)}"
    )


def create_role_statement(role: str, password: str, *, superuser: bool = False) -> str:
    """A role that may log in; IF NOT EXISTS, so it never changes an existing one.
    A service's role is never a superuser; devstack's own administrator is."""
    options = "SUPERUSER = true AND " if superuser else ""
    return (
        f"CREATE ROLE IF NOT EXISTS {_identifier('role', role)} "
        f"WITH {options}LOGIN = true AND PASSWORD = {_password(role, password)}"
    )


def password_statement(role: str, password: str) -> str:
    """Give an existing role ``password`` (and LOGIN) back.

    Only when its current password does not log in: Cassandra 5.0 refuses a
    second password change of a role within 5 s, so a caller that altered on
    every pass would fail every other one.
    """
    return (
        f"ALTER ROLE {_identifier('role', role)} "
        f"WITH LOGIN = true AND PASSWORD = {_password(role, password)}"
    )


def grant_statements(role: str, keyspace: str) -> list[str]:
    """KEYSPACE_PERMISSIONS on ``keyspace`` (a grant that exists is a no-op)."""
    role, keyspace = _identifier("role", role), _identifier("keyspace", keyspace)
    return [
        f"GRANT {permission} ON KEYSPACE {keyspace} TO {role}"
        for permission in KEYSPACE_PERMISSIONS
    ]


def _password(role: str, password: str) -> str:
    if not password:
        raise RoleError(f"role {role!r} needs a password")
    return _string(password)


def drop_role_statements(*, role: str, keyspace: str | None) -> list[str]:
    """Remove the role, and its keyspace too when ``keyspace`` is given (data lost)."""
    statements = [f"DROP ROLE IF EXISTS {_identifier('role', role)}"]
    if keyspace is not None:
        statements.append(f"DROP KEYSPACE IF EXISTS {_identifier('keyspace', keyspace)}")
    return statements
