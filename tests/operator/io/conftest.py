"""Fixtures of the operator's I/O tests against devstack's servers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client


@pytest.fixture
def namespace(kube_api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of the test's own (`ps-helm-…` for test_helm.py), deleted after it."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"ps-{module}-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)
