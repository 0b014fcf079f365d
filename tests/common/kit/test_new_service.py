"""A new service is a descriptor, settings, a route, a data module and a migration.

The test writes such a service into a temporary directory, lets devstack run it
from its descriptor alone (no devstack, gateway or Prometheus edit), and reaches
it through the real gateway: its route, its problem+json, its metrics, its trace
in Jaeger. If the kit needs more than this from a service, this test says so.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devstack import cassandra_auth
from devstack.components.cassandra import Cassandra
from devstack.components.helm import Helm
from devstack.components.jaeger import Jaeger
from devstack.components.nginx import Nginx
from devstack.components.services import AuthService, UvicornService, service_component
from devstack.pytest_plugin import DevstackSession
from productstore_contracts.descriptor import SecretFile, ServiceDescriptor
from tests.support.gateway import admin_token
from tests.support.helm import HelmCli
from tests.support.problems import assert_problem

# Serial in make test: it adds a route to the shared gateway, reloads it and rewrites
# the merged OpenAPI.
pytestmark = pytest.mark.serial

REPO = Path(__file__).resolve().parents[3]

DESCRIPTOR = ServiceDescriptor(
    name="kitprobe",
    summary="a throwaway service written by a test",
    route_prefixes=("/api/kitprobes",),
    port=8179,
    dependencies=frozenset({"cassandra"}),
    calls=frozenset({"auth"}),
)

# What a service author writes, besides the descriptor: every line of the service.
FILES = {
    "productstore_kitprobe/__init__.py": "",
    "productstore_kitprobe/app/__init__.py": "",
    "productstore_kitprobe/app/main.py": '''
        """The kitprobe service: notes by name."""

        from pathlib import Path
        from typing import Annotated

        from fastapi import APIRouter, Depends, FastAPI
        from pydantic import BaseModel, Field
        from pydantic_settings import SettingsConfigDict

        from productstore_common.auth import AdminUser
        from productstore_common.cassandra import CassandraSession
        from productstore_common.errors import problem
        from productstore_common.kit import ServiceKit, provide, service_app
        from productstore_common.settings import ServiceSettings
        from productstore_contracts.descriptor import ServiceDescriptor

        DESCRIPTOR = ServiceDescriptor(**DESCRIPTOR_FIELDS)


        class Settings(ServiceSettings):
            model_config = SettingsConfigDict(env_prefix="KITPROBE_")
            service_name: str = "kitprobe"
            cassandra_keyspace: str = "kitprobe"


        class Note(BaseModel):
            text: str = Field(min_length=1, max_length=200)


        class Notes:
            """The data module."""

            def __init__(self, db: CassandraSession) -> None:
                self.db = db

            async def get(self, name: str) -> str | None:
                page = await self.db.execute_async("SELECT text FROM notes WHERE name = ?", [name])
                row = page.one()
                return None if row is None else str(row.text)

            async def put(self, name: str, text: str) -> None:
                cql = "INSERT INTO notes (name, text) VALUES (?, ?)"
                await self.db.execute_async(cql, [name, text])


        NotesDep = Annotated[Notes, Depends(provide(Notes))]
        router = APIRouter(prefix="/api/kitprobes", tags=["notes"])


        @router.get("/{name}")
        async def read_note(name: str, notes: NotesDep) -> Note:
            text = await notes.get(name)
            if text is None:
                raise problem(404, "note_not_found", f"There is no note {name!r}.")
            return Note(text=text)


        @router.put("/{name}")
        async def write_note(name: str, note: Note, notes: NotesDep, admin: AdminUser) -> Note:
            await notes.put(name, note.text)
            return note


        async def setup(kit: ServiceKit[Settings]) -> None:
            kit.provide(Notes(await kit.cassandra()))


        def create_app() -> FastAPI:
            return service_app(
                DESCRIPTOR,
                Settings(),
                version="0.0.1",
                description="Notes by name.",
                routers=[router],
                setup=setup,
                migrations=Path(__file__).parent / "migrations",
            )
    ''',
    "productstore_kitprobe/app/migrations/V0001__notes.cql": """
        CREATE TABLE IF NOT EXISTS notes (name text PRIMARY KEY, text text);
    """,
}


def _write_service(root: Path) -> None:
    fields = (
        f"dict(name={DESCRIPTOR.name!r}, summary={DESCRIPTOR.summary!r}, "
        f"route_prefixes={DESCRIPTOR.route_prefixes!r}, port={DESCRIPTOR.port}, "
        f"dependencies=frozenset({sorted(DESCRIPTOR.dependencies)!r}), "
        f"calls=frozenset({sorted(DESCRIPTOR.calls)!r}))"
    )
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip()
        path.write_text(body.replace("**DESCRIPTOR_FIELDS", f"**{fields}"))


@pytest.fixture(scope="module")
def kitprobe(
    devstack: DevstackSession,
    cassandra: Cassandra,
    # The gateway, Jaeger and auth (for the JWKS) start with it.
    auth_service: AuthService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[UvicornService]:
    root = tmp_path_factory.mktemp("kitprobe")
    _write_service(root)
    probe_keyspace = f"kitprobe_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as patch:
        # The service process imports the package from the temporary directory.
        patch.syspath_prepend(str(root))
        patch.setenv("PYTHONPATH", str(root))

        class Kitprobe(service_component(DESCRIPTOR)):  # type: ignore[misc]
            keyspace = probe_keyspace

        stack = devstack.stack
        component = Kitprobe(stack.ctx)
        stack.components[component.name] = component
        try:
            stack.up([component.name])
            yield component
        finally:
            # Stops it and takes its routes, OpenAPI entry and scrape target away.
            stack.down([component.name], purge=True, dependents=False)
            del stack.components[component.name]
            sys.modules.pop("productstore_kitprobe", None)
    # Its keyspace and the role devstack made for it.
    cassandra_auth.drop_keyspace_role(
        cassandra.paths, cassandra.contact_points[0], cassandra.port, probe_keyspace
    )


def test_a_new_service_answers_through_the_gateway(
    kitprobe: UvicornService, nginx: Nginx, auth_service: AuthService
) -> None:
    token = admin_token(auth_service, nginx.url)
    base = f"{nginx.url}/api/kitprobes"
    missing = httpx.get(f"{base}/nothing", timeout=10)
    assert_problem(missing, 404, reason="note_not_found")
    # The kit verifies tokens with auth's JWKS because the descriptor calls auth.
    refused = httpx.put(f"{base}/hello", json={"text": "hi"}, timeout=10)
    assert refused.status_code == 401
    written = httpx.put(
        f"{base}/hello",
        json={"text": "hi"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert written.status_code == 200, written.text
    assert httpx.get(f"{base}/hello", timeout=10).json() == {"text": "hi"}
    invalid = httpx.put(
        f"{base}/hello", json={"text": ""}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_problem(invalid, 422)


def test_a_new_service_is_measured_documented_and_traced(
    kitprobe: UvicornService, nginx: Nginx, jaeger: Jaeger
) -> None:
    httpx.get(f"{nginx.url}/api/kitprobes/traced", timeout=10)
    metrics = httpx.get(f"{kitprobe.url}/metrics", timeout=10).text
    assert 'route="/api/kitprobes/{name}"' in metrics
    merged = httpx.get(f"{nginx.url}/api/openapi.json", timeout=10).json()
    assert "/api/kitprobes/{name}" in merged["paths"]
    deadline = time.monotonic() + 30
    traces: list[object] = []
    while time.monotonic() < deadline and not traces:
        answer = httpx.get(
            f"{jaeger.query_url}/api/traces", params={"service": "kitprobe", "limit": 5}, timeout=10
        )
        traces = json.loads(answer.text).get("data") or []
        time.sleep(0.5)
    assert traces, "no trace of the kitprobe service reached Jaeger"


# --- the operator and the chart pick it up -------------------------------------

# The same service asking for a secret the operator generates, so the Vault side
# of the pickup shows too.
WITH_SECRET = dataclasses.replace(
    DESCRIPTOR, secrets=(SecretFile(file="probe_key", key="kitprobe/probe-key", fields=("key",)),)
)

# Run in a fresh interpreter: the operator reads the table of descriptors when it
# is imported, as it does in its Pod. Appending to DESCRIPTORS is the one edit a
# new service makes to shared code.
_PICKUP = """
import json, sys
from pathlib import Path

import productstore_contracts.services as registry
from productstore_contracts.descriptor import check_registry

chart, out = (Path(arg) for arg in sys.argv[1:])
sys.path.insert(0, str(out))
from kitprobe_descriptor import DESCRIPTOR as new

registry.DESCRIPTORS = (*registry.DESCRIPTORS, new)
check_registry(registry.DESCRIPTORS)

from productstore_operator import chart_values, crd
from productstore_operator.builders import StoreRef, build_release_values, build_vault_config
from productstore_operator.callgraph import unmet_calls
from tests.operator.builders.support import SETTINGS, spec

assert chart_values.main(["--chart", str(chart)]) == 0
store = StoreRef("shop", "shop")
vault = build_vault_config(spec({}), store, SETTINGS)
result = {
    "crd": crd.build_crd(),
    "values": build_release_values(spec({"gateway.host": "shop.example"}), store, SETTINGS),
    "policies": {policy.name: policy.hcl for policy in vault.policies},
    "roles": {role.name: role.service_account for role in vault.roles},
    "secretPath": vault.secret_path(),
    "unmetWithoutAuth": unmet_calls([new.name]),
}
(out / "pickup.json").write_text(json.dumps(result))
"""


def _manifests(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["kind"], doc["metadata"]["name"]): doc
        for doc in yaml.safe_load_all(text)
        if doc is not None
    }


def test_the_operator_and_the_chart_pick_a_new_service_up_from_its_descriptor(
    helm: Helm, tmp_path: Path
) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(REPO / "charts" / "productstore", chart)
    (tmp_path / "kitprobe_descriptor.py").write_text(
        "from productstore_contracts.descriptor import SecretFile, ServiceDescriptor\n\n"
        f"DESCRIPTOR = {WITH_SECRET!r}\n"
    )
    subprocess.run(
        [sys.executable, "-c", _PICKUP, str(chart), str(tmp_path)],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    picked = json.loads((tmp_path / "pickup.json").read_text())

    # The CRD: a field for the service, on by default, explained by its summary.
    schema = picked["crd"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    field = schema["properties"]["spec"]["properties"]["services"]["properties"]["kitprobe"]
    assert field["description"] == "kitprobe: a throwaway service written by a test."
    assert field["default"] == {}
    # The call graph: it calls auth, so it cannot run without auth.
    assert picked["unmetWithoutAuth"] == [
        "kitprobe calls auth, but services.auth.enabled is false: enable auth or disable kitprobe"
    ]
    # Vault: a role for its ServiceAccount whose policy reads exactly its generated secret.
    policy = next(hcl for name, hcl in picked["policies"].items() if name.endswith("kitprobe"))
    assert f'path "{picked["secretPath"]}/kitprobe/probe-key"' in policy
    assert "shop-kitprobe" in picked["roles"].values()

    # The chart alone (its regenerated defaults) and the operator's values render
    # the service the same way: Deployment, Service, route, callers, secret file.
    offline = HelmCli(helm, tmp_path / "helm-home")
    values = tmp_path / "operator-values.json"
    values.write_text(json.dumps(picked["values"]))
    renders = {
        "helm alone": [
            *("--set", "fullnameOverride=shop", "--set", "istio.enabled=true"),
            *("--set", "vault.enabled=true", "--set", "ingress.enabled=true"),
            *("--set", "vault.address=http://vault.vault.svc:8200"),
            *("--set", "ingress.host=shop.example"),
        ],
        "operator": ["--values", str(values)],
    }
    for who, args in renders.items():
        rendered = offline.run("template", "shop", str(chart), "--namespace", "shop", *args)
        docs = _manifests(rendered.stdout)
        deployment = docs.get(("Deployment", "shop-kitprobe"))
        assert deployment is not None, f"{who}: no Deployment for kitprobe"
        agent = docs.get(("ConfigMap", "shop-kitprobe-vault-agent"))
        assert agent is not None, f"{who}: no Vault agent for kitprobe"
        assert '"/vault/secrets/probe_key"' in agent["data"]["agent.json"], who
        assert ("Service", "shop-kitprobe") in docs, who
        routes = json.dumps(
            [d for (kind, _), d in docs.items() if kind in ("Ingress", "VirtualService")]
        )
        assert "/api/kitprobes" in routes, f"{who}: the gateway does not route /api/kitprobes"
        auth_policy = json.dumps(docs[("AuthorizationPolicy", "shop-auth")])
        assert "/sa/shop-kitprobe" in auth_policy, f"{who}: auth does not let kitprobe call it"
