"""Benchmark: the real node's images (every service and the operator), built with buildah
from services/Dockerfile and operator/Dockerfile and exported into the node's OCI layout.

Four runs of the node component's own `build_images()` (what `devstack provision
node` does after the base image):

- cold (only with --cold): buildah's images and layers other than the base and helm
  images, the shared uv download cache and the layout are deleted first;
- no change: everything again as it is;
- one line: a comment appended to one service's `__init__.py` (restored afterwards),
  then every image again: which image ids changed, and the seconds;
- sizes: each image's layers as stored in the layout (zstd), its top three layers,
  and the layout on disk (shared layers counted once).

Needs: `devstack provision node` done once (the Debian tools and the base image). The
node need not run. Output: JSON on stdout and in bench/results/node-images.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from devstack.component import Context
from devstack.components import node_build
from devstack.components.node import REPO, Node
from devstack.paths import Paths

RESULTS = Path(__file__).parent / "results" / "node-images.json"


def _empty_build_cache(node: Node) -> None:
    buildah = node.buildah()
    listed = buildah.output(
        "images", "--all", "--noheading", "--format", "{{.ID}} {{.Name}}:{{.Tag}}"
    )
    keep = {node_build.BASE_IMAGE, node_build.HELM_IMAGE}
    doomed = [
        line.split()[0] for line in listed.stdout.splitlines() if line.split()[-1] not in keep
    ]
    for image_id in doomed:
        buildah.output("rmi", "--force", image_id)
    for cache in (buildah.home / "tmp").glob("buildah-cache-*"):
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(node.image_layout, ignore_errors=True)


def _timed(node: Node) -> tuple[float, dict[str, str]]:
    started = time.monotonic()
    built = node.build_images()
    return round(time.monotonic() - started, 1), built


def _sizes(layout: Path) -> dict[str, Any]:
    index = json.loads((layout / "index.json").read_text())
    images = {}
    for manifest in index["manifests"]:
        name = manifest["annotations"]["org.opencontainers.image.ref.name"]
        digest = manifest["digest"].split(":", 1)[1]
        body = json.loads((layout / "blobs" / "sha256" / digest).read_text())
        layers = [layer["size"] for layer in body["layers"]]
        images[name] = {
            "layers": len(layers),
            "mb": round(sum(layers) / 1e6, 1),
            "largest_layer_mb": round(max(layers) / 1e6, 1),
            # The last three (compressed): for a service its third-party dependencies,
            # its own packages (productstore_*) and its migrations; for the operator
            # its packages, its script and the chart come before helm.
            "top_layers_kb": [round(size / 1e3, 1) for size in layers[-3:]],
        }
    on_disk = sum(p.stat().st_size for p in (layout / "blobs").rglob("*") if p.is_file())
    return {"images": images, "layout_on_disk_mb": round(on_disk / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="empty buildah's build cache first")
    parser.add_argument("--service", default="catalog", help="the service given a one-line change")
    args = parser.parse_args()
    node = Node(Context(paths=Paths.from_env()))
    result: dict[str, Any] = {
        "images": list(node.images),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg()[0],
    }
    if args.cold:
        _empty_build_cache(node)
        result["cold_seconds"], _ = _timed(node)
    result["no_change_seconds"], before = _timed(node)
    source = (
        REPO / "services" / args.service / "src" / f"productstore_{args.service}" / "__init__.py"
    )
    original = source.read_bytes()
    try:
        source.write_bytes(original + f"# bench {time.time()}\n".encode())
        seconds, after = _timed(node)
    finally:
        source.write_bytes(original)
    result["one_line_change"] = {
        "service": args.service,
        "seconds": seconds,
        "images_changed": sorted(tag for tag in after if after[tag] != before.get(tag)),
    }
    # Back to the committed source (the next provision would do the same).
    result["restore_seconds"], _ = _timed(node)
    result |= _sizes(node.image_layout)
    result["load_average_after"] = os.getloadavg()[0]
    result["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
