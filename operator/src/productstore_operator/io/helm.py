"""The helm CLI, run as an asyncio subprocess so a release never blocks the event loop.

No ``--wait``: the reconcile polls Deployments instead, so a slow rollout
holds no worker. The operator stamps each upgrade's ``--description`` with the
hash of the values and chart it installed; ``history`` gives it back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from productstore_operator.io.errors import TransientError

# helm's own timeout for the API calls of one command (no --wait, so it is short).
HELM_TIMEOUT: Final = "2m"
# Kill a helm that has not answered in this long (its --timeout plus a margin).
PROCESS_TIMEOUT: Final = 180.0
DESCRIPTION_PREFIX: Final = "productstore.io/hash="
HISTORY_MAX: Final = 10
# Release states left by a helm that did not finish (killed, or still running).
PENDING: Final = frozenset({"pending-install", "pending-upgrade", "pending-rollback"})


@dataclass(frozen=True)
class Revision:
    """One entry of ``helm history``."""

    revision: int
    status: str
    chart: str
    description: str
    updated: datetime | None

    @property
    def stamped_hash(self) -> str | None:
        """The hash the operator stamped into the description, if this is its upgrade."""
        if self.description.startswith(DESCRIPTION_PREFIX):
            return self.description.removeprefix(DESCRIPTION_PREFIX)
        return None


def chart_digest(chart: Path) -> str:
    """SHA-256 over the chart's files: an edited template changes it, a version bump too."""
    digest = hashlib.sha256()
    for path in sorted(p for p in chart.rglob("*") if p.is_file()):
        digest.update(path.relative_to(chart).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _updated(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        # helm prints Go's RFC 3339 with nanoseconds: keep microseconds.
        head, _, rest = text.partition(".")
        zone = rest[next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest)) :]
        fraction = rest[: len(rest) - len(zone)][:6]
        return datetime.fromisoformat(f"{head}.{fraction or '0'}{zone}".replace("Z", "+00:00"))
    except ValueError:
        return None


class Helm:
    """Runs one helm binary against one cluster, at most ``concurrency`` at a time."""

    def __init__(self, binary: str, chart: Path, kubeconfig: Path | None, concurrency: int) -> None:
        self.binary = binary
        self.chart = chart
        self.kubeconfig = kubeconfig
        self.digest = chart_digest(chart)
        self._slots = asyncio.Semaphore(concurrency)
        home = Path(tempfile.gettempdir()) / "productstore-operator-helm"
        self._env = dict(os.environ)
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            self._env.setdefault(var, str(home / var.lower()))

    async def _run(self, *args: str) -> tuple[int, str, str]:
        argv = [self.binary, *args]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        async with self._slots:
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    env=self._env,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                raise TransientError(f"cannot run {self.binary}: {exc.strerror}") from exc
            # Cancelled (the operator stopping), helm is left to finish so the release
            # is not left pending; the next start reads the outcome from the history.
            try:
                out, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise TransientError(
                    f"`helm {args[0]}` did not finish in {PROCESS_TIMEOUT:.0f}s"
                ) from None
        return process.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")

    async def history(self, release: str, namespace: str) -> list[Revision]:
        """The release's revisions, oldest first; [] when it does not exist."""
        code, out, err = await self._run(
            "history", release, "--namespace", namespace, "--max", str(HISTORY_MAX),
            "--output", "json",
        )  # fmt: skip
        if code != 0:
            if "not found" in err:
                return []
            raise TransientError(f"`helm history {release}` failed: {err.strip()}")
        entries: list[dict[str, Any]] = json.loads(out or "[]")
        return [
            Revision(
                revision=int(entry["revision"]),
                status=str(entry.get("status", "")),
                chart=str(entry.get("chart", "")),
                description=str(entry.get("description", "")),
                updated=_updated(entry.get("updated")),
            )
            for entry in entries
        ]

    async def upgrade(
        self, release: str, namespace: str, values: Mapping[str, Any], stamp: str
    ) -> tuple[bool, str]:
        """``helm upgrade --install`` with ``values``; (succeeded, helm's error output)."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="values-") as file:
            # JSON is YAML: helm reads the file as values as-is.
            json.dump(values, file)
            file.flush()
            code, _, err = await self._run(
                "upgrade", release, str(self.chart), "--install",
                "--namespace", namespace, "--values", file.name,
                "--description", f"{DESCRIPTION_PREFIX}{stamp}",
                "--history-max", str(HISTORY_MAX), "--timeout", HELM_TIMEOUT,
            )  # fmt: skip
        return code == 0, err.strip()

    async def manifest(self, release: str, namespace: str, revision: int) -> str:
        """The rendered manifest (YAML documents) of one revision."""
        code, out, err = await self._run(
            "get", "manifest", release, "--namespace", namespace, "--revision", str(revision)
        )
        if code != 0:
            raise TransientError(f"`helm get manifest {release}` failed: {err.strip()}")
        return out

    async def rollback(self, release: str, namespace: str, revision: int) -> tuple[bool, str]:
        """``helm rollback`` to ``revision``; (succeeded, helm's error output)."""
        code, _, err = await self._run(
            "rollback", release, str(revision), "--namespace", namespace,
            "--timeout", HELM_TIMEOUT, "--history-max", str(HISTORY_MAX),
        )  # fmt: skip
        return code == 0, err.strip()

    async def uninstall(self, release: str, namespace: str) -> None:
        """``helm uninstall``; a release that is already gone is fine."""
        code, _, err = await self._run(
            "uninstall", release, "--namespace", namespace, "--timeout", HELM_TIMEOUT
        )
        if code != 0 and "not found" not in err:
            raise TransientError(f"`helm uninstall {release}` failed: {err.strip()}")
