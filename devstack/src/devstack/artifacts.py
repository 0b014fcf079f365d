"""Provisioned artifacts: built once into a temporary directory, then renamed.

A directory counts as provisioned only when its stamp exists and matches the
pinned fingerprint; the stamp is written last, inside the temporary directory,
which is renamed into place in one step. So an interrupted download or build
leaves a `*.partial-*` directory that is never used and is removed by the
next attempt, and changing a pin (the fingerprint) provisions again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack.errors import DevstackError
from devstack.process import file_lock, tail

STAMP = ".devstack-complete.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest(root: Path) -> dict[str, dict[str, int | str]]:
    files: dict[str, dict[str, int | str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name != STAMP:
            rel = path.relative_to(root).as_posix()
            files[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    return files


def is_complete(dest: Path, fingerprint: str, *, verify_hashes: bool = False) -> bool:
    """True if dest was fully provisioned for this fingerprint (and is intact)."""
    try:
        stamp = json.loads((dest / STAMP).read_text())
    except (FileNotFoundError, ValueError):
        return False
    if stamp.get("fingerprint") != fingerprint:
        return False
    files: dict[str, dict[str, int | str]] = stamp.get("files", {})
    for rel, meta in files.items():
        path = dest / rel
        try:
            if path.stat().st_size != meta["size"]:
                return False
        except FileNotFoundError:
            return False
        if verify_hashes and _sha256(path) != meta["sha256"]:
            return False
    return True


def ensure(
    component: str,
    dest: Path,
    fingerprint: str,
    build: Callable[[Path], None],
    *,
    verify_hashes: bool = False,
) -> bool:
    """Make dest hold the artifact for fingerprint. True if work was done.

    build(tmp_dir) must fill tmp_dir and raise on any failure.
    """
    if is_complete(dest, fingerprint, verify_hashes=verify_hashes):
        return False
    with file_lock(dest.parent / f".{dest.name}.lock"):
        if is_complete(dest, fingerprint, verify_hashes=verify_hashes):
            return False
        for stale in dest.parent.glob(f"{dest.name}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = dest.parent / f"{dest.name}.partial-{os.getpid()}"
        tmp.mkdir(parents=True)
        started = time.monotonic()
        try:
            build(tmp)
            stamp = {
                "fingerprint": fingerprint,
                "provisioned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "seconds": round(time.monotonic() - started, 1),
                "files": _manifest(tmp),
            }
            (tmp / STAMP).write_text(json.dumps(stamp, indent=1))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    return True


def run(
    component: str,
    argv: Sequence[str],
    *,
    log_file: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    hint: str,
    timeout: float = 3600,
) -> None:
    """Run a provisioning command (mvn, go, ...) with its output in log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n=== {time.strftime('%H:%M:%S')} $ {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise DevstackError(
                component, f"{argv[0]} is not installed", log_file=log_file, hint=hint
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise DevstackError(
                component, f"`{' '.join(argv[:3])}` timed out", log_file=log_file, hint=hint
            ) from exc
    if result.returncode != 0:
        raise DevstackError(
            component,
            f"`{' '.join(argv[:4])} ...` failed with exit code {result.returncode}:\n"
            f"{tail(log_file, 15)}",
            log_file=log_file,
            hint=hint,
        )
