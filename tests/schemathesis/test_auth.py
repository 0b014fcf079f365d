"""Property-based tests of the running auth service against its own OpenAPI document.

Every generated request, valid and invalid, must get an answer the document
describes: no 5xx, a documented status code, content type, headers and body
schema. As devstack's administrator, so the admin-only operations run too.
"""

from __future__ import annotations

import pytest
import schemathesis

from devstack.components.services import AuthService
from tests.schemathesis.conftest import run_schema

# Serial in make test: its logins can use up the shared auth's limit (100 a minute per address).
pytestmark = pytest.mark.serial


def test_auth_conforms_to_its_openapi(
    auth_service: AuthService, admin_headers: dict[str, str]
) -> None:
    document = schemathesis.openapi.from_url(f"{auth_service.url}/openapi.json")
    # Rotating the signing keys would end the sessions of everyone using this stack.
    schema = document.exclude(path="/api/auth/keys/rotate")
    calls, failures = run_schema(schema, auth_service.url, admin_headers)
    assert calls > 100
    assert not failures, "\n\n".join(failures)
