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
    Node,
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


def _workspace(root: Path) -> Path:
    (root / "services" / "catalog").mkdir(parents=True)
    (root / "services" / "catalog" / "app.py").write_text("print('v1')\n")
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / ".dockerignore").write_text(
        "# comment\n.git\nbench/results\n**/__pycache__\n**/*.pyc\n"
    )
    return root


def test_the_context_digest_follows_what_a_build_can_copy_and_nothing_else(
    tmp_path: Path,
) -> None:
    root = _workspace(tmp_path)
    first = node_build.context_digest(root)
    assert first is not None and first == node_build.context_digest(root)

    # What .dockerignore leaves out of the context leaves the digest alone.
    for ignored in (".git/HEAD", "bench/results/run.json", "services/catalog/__pycache__/a.pyc"):
        (root / ignored).parent.mkdir(parents=True, exist_ok=True)
        (root / ignored).write_text("anything")
    (root / "services" / "catalog" / "stale.pyc").write_bytes(b"\0")
    assert node_build.context_digest(root) == first

    # A file's bytes, its mode, a new file and a renamed one all change it.
    seen: set[str | None] = {first}
    (root / "services" / "catalog" / "app.py").write_text("print('v2')\n")
    seen.add(node_build.context_digest(root))
    (root / "services" / "catalog" / "app.py").chmod(0o755)
    seen.add(node_build.context_digest(root))
    (root / "bench" / "run.py").write_text("")
    seen.add(node_build.context_digest(root))
    (root / "bench" / "run.py").rename(root / "bench" / "go.py")
    seen.add(node_build.context_digest(root))
    (root / "services" / "link").symlink_to("catalog")
    seen.add(node_build.context_digest(root))
    assert len(seen) == 6 and None not in seen


def test_a_dockerignore_pattern_it_cannot_follow_means_every_build_runs(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    for pattern in ("!services/keep.py", "services/*/tests", "docs/**/*.md"):
        (root / ".dockerignore").write_text(f".git\n{pattern}\n")
        assert node_build.context_digest(root) is None, pattern


def test_the_repository_context_is_read_as_the_images_build_it() -> None:
    """The repository's own .dockerignore is one the digest follows (else every
    `devstack up node` builds all images again)."""
    assert node_build.context_digest(REPO) is not None


def test_an_image_is_reused_only_for_the_inputs_that_built_it(
    real_node: Node, tmp_path: Path
) -> None:
    buildah = real_node.buildah()
    base = node_build.image_id(buildah, node_build.BASE_IMAGE)
    assert base, "the node's base image is built by `devstack provision node`"
    stamp = tmp_path / "built" / "python"
    assert node_build.unchanged_image(buildah, node_build.BASE_IMAGE, "k1", stamp) is None

    node_build.record_build(stamp, "k1", base)
    assert node_build.unchanged_image(buildah, node_build.BASE_IMAGE, "k1", stamp) == base
    assert node_build.unchanged_image(buildah, node_build.BASE_IMAGE, "k2", stamp) is None
    assert node_build.unchanged_image(buildah, node_build.BASE_IMAGE, None, stamp) is None
    missing = "localhost/productstore/never-built:0"
    assert node_build.image_id(buildah, missing) == ""
    assert node_build.unchanged_image(buildah, missing, "k1", stamp) is None, "buildah lost it"
    node_build.record_build(stamp, "k1", "0" * 64)
    assert node_build.unchanged_image(buildah, node_build.BASE_IMAGE, "k1", stamp) is None

    node_build.record_build(stamp, None, base)
    assert not stamp.exists(), "a build without a key leaves no stamp"
