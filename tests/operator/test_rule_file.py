"""python -m productstore_operator.rule_file: a store's rules as a file promtool accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from devstack.components.prometheus import Prometheus
from productstore_operator.builders import StoreRef, build_rule_groups
from productstore_operator.models import ProductStoreSpec
from productstore_operator.rule_file import main
from tests.operator.spec_cases import SAMPLES_DIR, load_sample


def test_writes_the_builders_groups_for_the_manifests_store(
    prometheus: Prometheus, tmp_path: Path
) -> None:
    output = tmp_path / "rules.yml"
    sample = SAMPLES_DIR / "productstore-full.yaml"
    assert main([str(sample), "--namespace", "shop-ns", "--output", str(output)]) == 0
    manifest = load_sample("productstore-full")
    spec = ProductStoreSpec.model_validate(manifest["spec"])
    store = StoreRef(manifest["metadata"]["name"], "shop-ns")
    assert yaml.safe_load(output.read_text()) == {"groups": build_rule_groups(spec, store)}
    check = subprocess.run(
        [str(prometheus.promtool), "check", "rules", str(output)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_metadata_namespace_wins(tmp_path: Path) -> None:
    manifest = {**load_sample("productstore-minimal"), "metadata": {"name": "a", "namespace": "b"}}
    source = tmp_path / "store.yaml"
    source.write_text(yaml.safe_dump(manifest))
    output = tmp_path / "rules.yml"
    assert main([str(source), "--namespace", "ignored", "-o", str(output)]) == 0
    assert 'namespace="b", store="a"' in output.read_text()
