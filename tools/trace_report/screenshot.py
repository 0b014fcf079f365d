"""A PNG of a local HTML file, taken by headless Chromium (Debian's `chromium`, which
`make setup` installs)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 60.0


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html: Path, png: Path, *, width: int = 1400, height: int = 2400) -> Path:
    """`html` rendered at width x height CSS pixels into `png`; RuntimeError saying why not."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("no Chromium found (`make setup` installs Debian's chromium)")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="trace-report-chromium-") as profile:
        argv = [
            binary,
            "--headless",
            # Runs as root in CI and in devstack's containers, where the sandbox cannot.
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            html.resolve().as_uri(),
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return png
