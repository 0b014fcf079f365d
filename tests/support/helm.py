"""Run the devstack-provisioned helm the way a user would, isolated per test."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from devstack.components.helm import Helm


class HelmCli:
    """Runs the provisioned helm with its caches and config in a temporary home."""

    def __init__(self, helm: Helm, home: Path, kubeconfig: Path | None = None) -> None:
        self.binary = helm.binary
        self.kubeconfig = kubeconfig
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            self.env[var] = str(home / var.lower())

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), *args]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        result = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=240, check=False
        )
        if check:
            assert result.returncode == 0, (
                f"`helm {' '.join(args)}` exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json").stdout)
