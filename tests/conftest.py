"""Fixtures every test package uses (devstack's servers come from devstack.pytest_plugin)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import coverage
import pytest
import redis.asyncio as redis
from kubernetes import client
from xdist.remote import Producer
from xdist.scheduler import Scheduling

from devstack.components.redis import Redis
from tests.support import suite_groups
from tests.support.crd import install_generated_crd


def pytest_configure(config: pytest.Config) -> None:
    """The xdist controller names the file its workers write their groups to."""
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        folder = Path(tempfile.mkdtemp(prefix="suite-groups-"))
        os.environ[suite_groups.GROUPS_FILE_ENV] = str(folder / "groups.json")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_unconfigure(config: pytest.Config) -> None:
    """An xdist worker saves its coverage data itself: execnet may end a worker that
    is slow to wind down with os._exit, before coverage's atexit save (a whole
    worker's share of the suite went missing that way)."""
    if hasattr(config, "workerinput") and (measuring := coverage.Coverage.current()):
        measuring.stop()
        measuring.save()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test's group, and the groups' order (tests/support/suite_groups.py)."""
    groups = suite_groups.assign(
        [(item.nodeid, getattr(item, "fixturenames", ())) for item in items]
    )
    items.sort(key=lambda item: suite_groups.rank(groups[item.nodeid]))
    target = os.environ.get(suite_groups.GROUPS_FILE_ENV)
    if target and os.environ.get("PYTEST_XDIST_WORKER"):
        suite_groups.write(Path(target), groups)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    """Our groups for `--dist loadgroup` (xdist's own no longer groups: see suite_groups)."""
    target = os.environ.get(suite_groups.GROUPS_FILE_ENV)
    if config.getoption("dist") != "loadgroup" or not target:
        return None
    return suite_groups.GroupScheduling(config, log, Path(target))


@pytest.fixture
async def redis_client(redis_server: Redis) -> AsyncIterator[redis.Redis]:
    """A plain redis.asyncio client of the devstack Redis, closed after the test."""
    connection = redis.Redis.from_url(redis_server.env()["REDIS_URL"])
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture(scope="session")
def productstore_crd(kube_api: client.ApiClient) -> dict[str, Any]:
    """The ProductStore CRD of this checkout, installed and served (created or
    replaced, never deleted: it is cluster-wide and shared with other sessions)."""
    return install_generated_crd(kube_api)
