"""Run devstack's pinned kubectl against its apiserver, the way a user would."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from devstack.components.kube import KubeApiserver

WAIT_TIMEOUT = 120.0


class Kubectl:
    """The provisioned kubectl, pointed at devstack's apiserver."""

    def __init__(self, kube: KubeApiserver) -> None:
        self.argv = [str(kube.kubectl), "--kubeconfig", str(kube.kubeconfig)]

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.argv, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, (
                f"`kubectl {' '.join(args)}` exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json").stdout)

    def gone(self, *args: str, timeout: float = WAIT_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.run("get", *args, "--ignore-not-found", "--output", "name", check=False)
            if result.returncode == 0 and not result.stdout.strip():
                return True
            time.sleep(1)
        return False
