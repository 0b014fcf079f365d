"""Audit uv.lock's pinned packages for known vulnerabilities with pip-audit.

pip-audit asks PyPI's per-release JSON API (`/pypi/<name>/<version>/json`,
whose `vulnerabilities` come from the OSV database) about every pin of
`uv export --frozen`. Where that service cannot be reached (no network, or a
mirror that serves only the package index) the audit cannot run: this says so
on stderr, naming the URL and the answer, and exits 0, so an offline
`make test` still runs while nobody mistakes the skip for a pass. Where it can
be reached, any known vulnerability, and any package the service cannot
answer for, fails (exit 1).

    python tools/audit_dependencies.py --uv PATH_TO_UV
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PIP_AUDIT = "pip-audit==2.10.1"
SERVICE = "https://pypi.org/pypi/{name}/{version}/json"
# Known vulnerabilities accepted for now: id -> why, and until when. Empty: none.
IGNORED_VULNERABILITIES: dict[str, str] = {}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(requirements: str) -> list[tuple[str, str]]:
    """The `name==version` pins of a requirements file, in order."""
    return _PIN.findall(requirements)


def unreachable_reason(
    name: str, version: str, service: str = SERVICE, timeout: float = 10.0
) -> str | None:
    """Why the vulnerability service cannot answer for one real pin, or None if it can."""
    url = service.format(name=name, version=version)
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        return f"GET {url} failed: {exc.__class__.__name__}: {exc}"
    if response.status_code != 200:
        return f"GET {url} answered HTTP {response.status_code}"
    try:
        response.json()["vulnerabilities"]
    except (ValueError, KeyError, TypeError):
        return f"GET {url} answered without a vulnerabilities list"
    return None


def export_lock(uv: str) -> str:
    return subprocess.run(
        [uv, "export", "--frozen", "--format", "requirements-txt", "--no-emit-workspace"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", required=True, help="the uv the Makefile pins")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("PRODUCTSTORE_CACHE", Path.home() / ".cache" / "productstore"))
        / "pip-audit",
    )
    parser.add_argument("--service", default=SERVICE, help="the per-release JSON URL to probe")
    args = parser.parse_args(argv)
    started = time.monotonic()
    requirements = export_lock(args.uv)
    pinned = pins(requirements)
    if not pinned:
        sys.stderr.write("dependency audit: `uv export` listed no pinned package\n")
        return 1
    reason = unreachable_reason(*pinned[0], service=args.service)
    if reason is not None:
        sys.stderr.write(
            f"dependency audit SKIPPED, nothing was audited: pip-audit's vulnerability "
            f"service is not reachable from this machine ({reason}).\n"
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requirements.txt"
        path.write_text(requirements)
        ignores = [arg for vuln in IGNORED_VULNERABILITIES for arg in ("--ignore-vuln", vuln)]
        result = subprocess.run(
            [
                args.uv,
                "tool",
                "run",
                "--from",
                PIP_AUDIT,
                "pip-audit",
                # Every pin is audited, or the audit fails: no silent gaps.
                "--strict",
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--cache-dir",
                str(args.cache_dir),
                "--requirement",
                str(path),
                *ignores,
            ],
            check=False,
        )
    sys.stderr.write(
        f"dependency audit: {len(pinned)} pins, {time.monotonic() - started:.1f} s, "
        f"exit {result.returncode}\n"
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
