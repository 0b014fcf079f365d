"""`devstack seed` against the running gateway: creates what is missing, once."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devstack.components.nginx import Nginx
from devstack.components.services import ADMIN_EMAIL, AuthService, CatalogService
from devstack.errors import DevstackError
from devstack.seed import DEMO_KEY, seed_demo_data
from productstore_catalog.demo.corpus import CATEGORIES
from tests.support.gateway import admin_token


def _demo_products(gateway: str, seed: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    cursor = None
    for _ in range(10_000):
        params: dict[str, str | int] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{gateway}/api/products", params=params, timeout=30).json()
        found += [
            p
            for p in page["items"]
            if p["attributes"].get(DEMO_KEY, "").startswith(f"devstack-{seed}-")
        ]
        cursor = page["next_cursor"]
        if not cursor:
            break
    return found


def test_seed_twice_creates_once(
    auth_service: AuthService, catalog_service: CatalogService, nginx: Nginx
) -> None:
    # A seed of its own: its demo keys (devstack-<seed>-<n>) are this test's alone.
    seed = random.randint(10**6, 10**9)  # noqa: S311 - a demo seed
    first = seed_demo_data(
        nginx.url, email=ADMIN_EMAIL, password_file=auth_service.admin_password_file,
        products=4, seed=seed,
    )  # fmt: skip
    try:
        assert first.products_created == 4
        assert first.categories_total >= len(CATEGORIES)
        second = seed_demo_data(
            nginx.url, email=ADMIN_EMAIL, password_file=auth_service.admin_password_file,
            products=4, seed=seed,
        )  # fmt: skip
        assert second.products_created == 0
        assert second.categories_created == 0
        created = _demo_products(nginx.url, seed)
        assert len(created) == 4
        slugs = {c["slug"] for c in httpx.get(f"{nginx.url}/api/categories").json()["items"]}
        assert {c.slug for c in CATEGORIES} <= slugs
    finally:
        headers = {"Authorization": f"Bearer {admin_token(auth_service, nginx.url)}"}
        for product in _demo_products(nginx.url, seed):
            httpx.delete(f"{nginx.url}/api/products/{product['id']}", headers=headers, timeout=30)


def test_seed_names_the_password_file_and_never_prints_the_password(
    auth_service: AuthService, catalog_service: CatalogService, nginx: Nginx, tmp_path: Path
) -> None:
    """A state directory of its own whose auth password file has never been shown: the
    first seed from it is the one that used to print the password."""
    state = tmp_path / "state"
    password_file = state / "auth" / "admin-password"
    password_file.parent.mkdir(parents=True)
    password_file.touch(mode=0o600)
    password = auth_service.admin_password_file.read_text()
    password_file.write_text(password)
    seed = random.randint(10**6, 10**9)  # noqa: S311 - a demo seed
    try:
        result = subprocess.run(
            [sys.executable, "-m", "devstack", "seed", "--products", "1", "--seed", str(seed)],
            capture_output=True,
            text=True,
            env={**os.environ, "PRODUCTSTORE_STATE": str(state)},
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert password.strip() not in result.stdout + result.stderr
        assert f"{ADMIN_EMAIL}, password in {password_file}" in result.stdout
    finally:
        headers = {"Authorization": f"Bearer {admin_token(auth_service, nginx.url)}"}
        for product in _demo_products(nginx.url, seed):
            httpx.delete(f"{nginx.url}/api/products/{product['id']}", headers=headers, timeout=30)


def test_a_missing_password_file_says_what_to_do(nginx: Nginx, tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match="does not exist"):
        seed_demo_data(nginx.url, email=ADMIN_EMAIL, password_file=tmp_path / "nope")


def test_a_wrong_password_is_a_clear_error(
    auth_service: AuthService, nginx: Nginx, tmp_path: Path
) -> None:
    wrong = tmp_path / "password"
    wrong.write_text("not the administrator's password\n")
    with pytest.raises(DevstackError, match="cannot log in"):
        seed_demo_data(nginx.url, email=ADMIN_EMAIL, password_file=wrong)
