"""python -m productstore_operator.dashboard_files: a store's dashboards as files to import."""

from __future__ import annotations

import json
from pathlib import Path

from productstore_operator.builders import StoreRef
from productstore_operator.builders.dashboards import build_dashboards
from productstore_operator.dashboard_files import main
from productstore_operator.models import ProductStoreSpec
from tests.operator.spec_cases import SAMPLES_DIR, load_sample


def test_writes_the_builders_dashboards_for_the_manifests_store(tmp_path: Path) -> None:
    sample = SAMPLES_DIR / "productstore-full.yaml"
    (tmp_path / "retired.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("kept")
    assert main([str(sample), "--namespace", "shop-ns", "--output-dir", str(tmp_path)]) == 0
    manifest = load_sample("productstore-full")
    spec = ProductStoreSpec.model_validate(manifest["spec"])
    expected = build_dashboards(spec, StoreRef(manifest["metadata"]["name"], "shop-ns"))
    written = {path.name: json.loads(path.read_text()) for path in tmp_path.glob("*.json")}
    # A dashboard no longer generated is removed; other files are left alone.
    assert written == expected
    assert (tmp_path / "notes.txt").read_text() == "kept"
