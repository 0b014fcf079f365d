"""Shared set-up of the schemathesis runs: an admin token and the run itself.

schemathesis 4.32's pytest integration (`from_fixture`) does not work with
pytest 9 (it sets `node._nodeid`), and loading a schema at import time would
need the services running before the fixtures can start them. So each test
loads the schema from the running service and drives Hypothesis itself, one
operation at a time, collecting every failure with its reproducer.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devstack.components.nginx import Nginx
from devstack.components.services import AuthService
from tests.support.gateway import admin_token

Case = schemathesis.Case[schemathesis.APIOperation[Any, Any, Any, Any]]

# No 5xx, answers as documented, invalid input refused. Not `positive_data_acceptance`:
# the services check more than their schemas say (a password policy, an e-mail
# shape), so schema-valid input may rightly get a 422.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Enough to reach the branches of these schemas' constraints while keeping one
# service's run within about two minutes on a loaded 2-core machine.
MAX_EXAMPLES = 50


@pytest.fixture(scope="session")
def admin_headers(auth_service: AuthService, nginx: Nginx) -> dict[str, str]:
    """Authorization of devstack's administrator, so admin-only paths are exercised too."""
    return {"Authorization": f"Bearer {admin_token(auth_service, nginx.url)}"}


def run_schema(
    schema: schemathesis.BaseSchema, base_url: str, headers: dict[str, str]
) -> tuple[int, list[str]]:
    """Positive and negative cases for every operation: (cases run, failures found)."""
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation the document does not define well: {result.err()}")
            continue
        operation = result.ok()
        for mode in schemathesis.GenerationMode:
            strategy: st.SearchStrategy[Case] = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Case) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(
                    base_url=base_url, headers=headers, checks=CHECKS, timeout=30
                )

            try:
                check()
            except Unsatisfiable:
                # Nothing to make invalid: the operation takes no parameters or body.
                if mode is schemathesis.GenerationMode.POSITIVE:
                    raise
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return calls, failures
