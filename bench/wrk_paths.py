"""wrk over a list of paths (bench/lua/random_paths.lua), summarised as the benchmarks
report it: requests, requests per second, latency percentiles in ms and errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

LUA = Path(__file__).parent / "lua" / "random_paths.lua"


def write_paths(paths: list[str], file: Path) -> Path:
    """One path per line: the script's input."""
    file.write_text("\n".join(paths) + "\n")
    return file


def run_wrk(
    wrk: Path | str, url: str, paths_file: Path, *, seconds: int, connections: int, threads: int = 2
) -> dict[str, Any]:
    """One wrk run of ``seconds`` against ``url``, each request a random line of
    ``paths_file``; errors are connection, read and write errors, non-2xx answers and
    timeouts (5 s)."""
    argv = [str(wrk), f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--timeout", "5s", "-s", str(LUA), url, "--", str(paths_file)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in reversed(result.stdout.splitlines()) if x.startswith("{"))
    raw: dict[str, Any] = json.loads(line)
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.endswith(("_errors", "non_2xx", "timeouts")))
    return {
        "requests": raw["requests"],
        "requests_per_second": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "error_rate": round(errors / max(raw["requests"], 1), 6),
    }
