"""A ProductStore manifest's Grafana dashboards as JSON files, for import by hand.

The dashboards the operator hands the chart as sidecar ConfigMaps
(``builders.dashboards``), written instead as one ``<name>.json`` each: devstack
writes the sample store's (``devstack dashboards``), and anyone with a Grafana
can import them (Dashboards > New > Import), choosing a Prometheus data source.

``python -m productstore_operator.dashboard_files STORE.yaml --output-dir DIR [--namespace NS]``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from productstore_operator.builders import StoreRef
from productstore_operator.builders.dashboards import build_dashboards
from productstore_operator.models import ProductStoreSpec


def render_dashboards(manifest: dict[str, Any], namespace: str | None = None) -> dict[str, str]:
    """Each dashboard's file text by file name (indented, keys sorted).

    The store's namespace is metadata.namespace, else ``namespace``, else default.
    """
    metadata = manifest.get("metadata") or {}
    store = StoreRef(metadata["name"], metadata.get("namespace") or namespace or "default")
    spec = ProductStoreSpec.model_validate(manifest["spec"])
    return {
        name: json.dumps(model, indent=2, sort_keys=True) + "\n"
        for name, model in build_dashboards(spec, store).items()
    }


def write_dashboards(files: dict[str, str], output_dir: Path) -> list[Path]:
    """Write ``files`` into ``output_dir``, removing dashboards no longer generated."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = output_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m productstore_operator.dashboard_files",
        description="Write a ProductStore manifest's Grafana dashboards as JSON files.",
    )
    parser.add_argument("store", type=Path, help="a ProductStore manifest (YAML)")
    parser.add_argument(
        "--namespace", help="the store's namespace when its metadata has none (default: default)"
    )
    parser.add_argument(
        "--output-dir", "-o", type=Path, required=True, help="folder for the <name>.json files"
    )
    args = parser.parse_args(argv)
    manifest = yaml.safe_load(args.store.read_text())
    for path in write_dashboards(render_dashboards(manifest, args.namespace), args.output_dir):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
