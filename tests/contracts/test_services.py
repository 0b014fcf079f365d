"""Every descriptor names a service that exists and that the one Dockerfile can build."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from devstack.components.services import GRACEFUL_SHUTDOWN_SECONDS, uvicorn_argv
from productstore_contracts.descriptor import ServiceDescriptor
from productstore_contracts.services import DESCRIPTORS

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "services" / "Dockerfile").read_text(encoding="utf-8")


@pytest.mark.parametrize("service", DESCRIPTORS, ids=lambda d: d.name)
def test_the_descriptor_names_a_real_service(service: ServiceDescriptor) -> None:
    folder = REPO / "services" / service.name
    # What services/Dockerfile copies and installs for --build-arg SERVICE=<name>.
    assert (folder / "src" / service.package).is_dir()
    assert (folder / "migrations").is_dir()
    assert f'name = "productstore-{service.name}"' in (folder / "pyproject.toml").read_text()
    module, factory = service.app_factory.split(":")
    assert callable(getattr(importlib.import_module(module), factory))
    # The service's settings read the descriptor's prefix.
    config = importlib.import_module(f"{service.package}.app.core.config")
    prefixes = {
        cls.model_config.get("env_prefix")
        for cls in vars(config).values()
        if isinstance(cls, type)
        and hasattr(cls, "model_config")
        and cls.__module__ == config.__name__
    }
    assert service.env_prefix in prefixes


def test_no_service_keeps_a_dockerfile_of_its_own() -> None:
    assert (
        sorted(p.relative_to(REPO).as_posix() for p in (REPO / "services").glob("*/Dockerfile"))
        == []
    )


def test_the_dockerfile_is_pinned_and_runs_as_non_root() -> None:
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)
    # A patch release of 3.11 on a named Debian release, never a moving tag.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", base), base
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    (uv,) = re.findall(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert f"ARG UV_VERSION={uv}" in DOCKERFILE
    assert re.search(r"^USER 10001$", DOCKERFILE, re.MULTILINE)
    assert "--uid 10001" in DOCKERFILE
    assert '--package "productstore-${SERVICE}"' in DOCKERFILE


def test_the_image_serves_on_the_charts_port() -> None:
    values = yaml.safe_load((REPO / "charts/productstore/values.yaml").read_text())
    assert f"EXPOSE {values['serviceDefaults']['port']}" in DOCKERFILE
    assert f"--port {values['serviceDefaults']['port']}" in DOCKERFILE


def test_the_image_never_takes_the_client_address_from_x_forwarded_for() -> None:
    # uvicorn's default believes X-Forwarded-For from 127.0.0.1 (a sidecar's
    # address too); services read only X-Client-Address from TRUSTED_PROXIES.
    (command,) = re.findall(r"^CMD .*$", DOCKERFILE, re.MULTILINE)
    assert "--no-proxy-headers" in command
    assert "--forwarded-allow-ips" not in command


def test_a_stop_closes_long_lived_responses_in_the_image_and_in_devstack() -> None:
    # Inventory's stock stream never ends by itself: uvicorn would wait for it.
    (command,) = re.findall(r"^CMD .*$", DOCKERFILE, re.MULTILINE)
    assert f"--timeout-graceful-shutdown {GRACEFUL_SHUTDOWN_SECONDS}" in command
    argv = uvicorn_argv("m:f", 8000)
    flag = argv.index("--timeout-graceful-shutdown")
    assert argv[flag + 1] == GRACEFUL_SHUTDOWN_SECONDS


# Served by every service for the platform, not routed by the gateway.
_PLATFORM_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
}


def _routed(path: str, prefixes: tuple[str, ...]) -> bool:
    # nginx's rule (devstack render_routes): "/api/x" routes itself and "/api/x/...",
    # "/api/x/" only what is below it.
    return any(
        path.startswith(prefix)
        if prefix.endswith("/")
        else path == prefix or path.startswith(f"{prefix}/")
        for prefix in prefixes
    )


@pytest.mark.parametrize("service", DESCRIPTORS, ids=lambda d: d.name)
def test_every_public_route_is_under_the_descriptors_prefixes(
    service: ServiceDescriptor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{service.env_prefix}ENVIRONMENT", "development")
    monkeypatch.setenv(f"{service.env_prefix}JWT_JWKS_URL", "http://127.0.0.1:1/jwks.json")
    module, factory = service.app_factory.split(":")
    app = getattr(importlib.import_module(module), factory)()
    paths = set(app.openapi()["paths"]) - _PLATFORM_PATHS
    assert paths
    assert sorted(p for p in paths if not _routed(p, service.route_prefixes)) == []
