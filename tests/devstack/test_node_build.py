"""node_build: the images of every service and the operator, named as the chart names
them, and the OCI layout they reach containerd through."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import yaml

from devstack.components import node_build
from devstack.components.node import (
    DEFAULT_IMAGES,
    OPERATOR_IMAGE,
    REPO,
    SUPPORT_IMAGES,
    service_image,
)
from productstore_contracts.services import DESCRIPTORS
from productstore_operator.builders.values import IMAGE_PREFIX
from productstore_operator.models.spec import REGISTRY_PATTERN


def test_every_service_and_the_operator_is_built_as_the_chart_names_it() -> None:
    assert (*(d.name for d in DESCRIPTORS), OPERATOR_IMAGE, *SUPPORT_IMAGES) == DEFAULT_IMAGES
    # The Vault agent's image, as the chart names it when vault.agentImage is empty, and
    # the store's gateway's (gateway.image.name under the registry).
    assert {"vault-agent", "gateway"} <= set(SUPPORT_IMAGES)
    chart = yaml.safe_load((REPO / "charts/productstore/Chart.yaml").read_text())
    registry, _, rest = service_image("catalog").rpartition("/")
    # A store with image.registry <registry>, version <appVersion> and pullPolicy
    # Never runs these images: the operator allows the registry, the chart builds
    # <registry>/<IMAGE_PREFIX><service>:<version>.
    assert re.fullmatch(REGISTRY_PATTERN, registry)
    assert rest == f"{IMAGE_PREFIX}catalog:{chart['appVersion']}"
    assert service_image(OPERATOR_IMAGE).endswith(f"/productstore-operator:{chart['appVersion']}")
    assert (
        service_image("vault-agent") == f"{registry}/productstore-vault-agent:{chart['appVersion']}"
    )
    values = yaml.safe_load((REPO / "charts/productstore/values.yaml").read_text())
    assert service_image("gateway") == (
        f"{registry}/{values['gateway']['image']['name']}:{chart['appVersion']}"
    )


def _blob(layout: Path, content: bytes) -> dict[str, object]:
    digest = hashlib.sha256(content).hexdigest()
    (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(content)
    return {"digest": f"sha256:{digest}", "size": len(content)}


def _image(layout: Path, layers: list[bytes], name: str | None) -> dict[str, object]:
    manifest = {
        "schemaVersion": 2,
        "config": _blob(layout, json.dumps({"layers": len(layers)}).encode()),
        "layers": [_blob(layout, layer) for layer in layers],
    }
    descriptor = _blob(layout, json.dumps(manifest).encode())
    if name:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": name}
    return descriptor


def test_a_replaced_image_leaves_only_its_own_blobs_behind_to_collect(tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    base, deps, old_code, new_code = b"base", b"deps", b"code v1", b"code v2"
    # A push replacing productstore-catalog leaves the old manifest in the index, unnamed.
    old = _image(layout, [base, deps, old_code], None)
    new = _image(layout, [base, deps, new_code], "productstore-catalog")
    other = _image(layout, [base, b"auth deps"], "productstore-auth")
    (layout / "index.json").write_text(json.dumps({"manifests": [old, new, other]}))
    freed = node_build.collect_garbage(layout)
    names = {p.name for p in (layout / "blobs" / "sha256").iterdir()}
    assert hashlib.sha256(old_code).hexdigest() not in names
    for kept in (base, deps, new_code, b"auth deps"):
        assert hashlib.sha256(kept).hexdigest() in names
    assert freed > 0
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"] == [new, other]
    assert node_build.collect_garbage(layout) == 0


def test_the_archive_for_containerd_holds_one_image_under_its_full_name(tmp_path: Path) -> None:
    layout = tmp_path / "oci"
    catalog = _image(layout, [b"base", b"catalog code"], "productstore-catalog")
    auth = _image(layout, [b"base", b"auth code"], "productstore-auth")
    (layout / "index.json").write_text(json.dumps({"manifests": [catalog, auth]}))
    out = io.BytesIO()
    tag = "localhost/productstore/productstore-catalog:0.1.0"
    node_build.image_archive(layout, tag, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        names = set(tar.getnames())
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    [entry] = index["manifests"]
    assert entry["digest"] == catalog["digest"]
    # containerd names the image by this annotation (no --base-name needed).
    assert entry["annotations"]["io.containerd.image.name"] == tag
    assert "oci-layout" in names
    blobs = {n.removeprefix("blobs/sha256/") for n in names if n.startswith("blobs/")}
    assert hashlib.sha256(b"catalog code").hexdigest() in blobs
    assert hashlib.sha256(b"auth code").hexdigest() not in blobs, "another image's layer"
