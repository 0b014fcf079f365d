"""`make test`'s suite in two phases against one devstack, started once.

1. Start what the suite uses (`devstack up all`), reusing what already runs.
2. The parallel phase: every test not marked ``serial``, on pytest-xdist workers
   (``--dist loadgroup``; tests/conftest.py puts each top-level test package in one
   group, and every module that runs Pods on the real node in the group ``node``),
   with ``--devstack=reuse``: the workers start and stop nothing.
3. The serial phase: the tests marked ``serial`` (they stop, pause or rewrite what
   every other test uses), alone, with ``--devstack=auto`` (they may start servers
   the default stack does not run, e.g. the three-node Cassandra cluster).
4. Stop what step 1 started; what ran before the suite keeps running.

The components step 1 starts are tied to this process: if it is killed, they die
with it. Each phase writes its JUnit report (``junit-parallel.xml``,
``junit-serial.xml``) into ``--reports``; the exit status is the worst phase's.

    python tools/run_suite.py [--workers 2] [--reports DIR] [-- PYTEST_ARGS...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devstack.component import Context
from devstack.errors import DevstackError
from devstack.paths import Paths
from devstack.stack import Stack, UpResult

# pytest's exit status when every collected test was deselected: a phase with
# nothing to run (e.g. PYTEST_ARGS naming only serial tests) did not fail.
NO_TESTS_COLLECTED = 5


def phase_commands(
    workers: int, reports: Path, extra: Sequence[str]
) -> list[tuple[str, list[str]]]:
    """The two pytest command lines, named by phase."""
    pytest = [sys.executable, "-m", "pytest"]
    parallel = [
        *pytest,
        "-m",
        "not serial",
        "--devstack=reuse",
        f"--junitxml={reports / 'junit-parallel.xml'}",
    ]
    if workers > 1:
        # loadgroup keeps each group on one worker; the groups' order is the
        # collection order tests/conftest.py gives (longest first), not xdist's.
        parallel += ["-n", str(workers), "--dist", "loadgroup", "--no-loadscope-reorder"]
    serial = [
        *pytest,
        "-m",
        "serial",
        "--devstack=auto",
        f"--junitxml={reports / 'junit-serial.xml'}",
    ]
    return [("parallel", [*parallel, *extra]), ("serial", [*serial, *extra])]


def run_phases(commands: Sequence[tuple[str, list[str]]]) -> int:
    """Run every phase (a failed one does not skip the next); the worst status."""
    worst = 0
    for name, command in commands:
        started = time.monotonic()
        print(f"\n=== {name} phase: {' '.join(command[1:])}", flush=True)  # noqa: T201
        status = subprocess.run(command, check=False).returncode
        if status == NO_TESTS_COLLECTED:
            status = 0
        print(  # noqa: T201 - progress of make test
            f"=== {name} phase: exit {status} after {time.monotonic() - started:.0f} s",
            flush=True,
        )
        worst = max(worst, status)
    return worst


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", type=int, default=2, help="pytest-xdist workers of the parallel phase"
    )
    parser.add_argument(
        "--reports", type=Path, default=Path(".coverage-data"), help="where the JUnit files go"
    )
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be 1 or more, not {args.workers}")
    args.reports.mkdir(parents=True, exist_ok=True)

    stack = Stack(Context(paths=Paths.from_env(), tie_to_parent=True))
    started: list[str] = []
    try:
        began = time.monotonic()

        def report(result: UpResult) -> None:
            if result.action == "started":
                started.append(result.name)
                print(result.progress(), flush=True)  # noqa: T201 - a cold start takes minutes

        print("devstack for the suite: starting what is not running", flush=True)  # noqa: T201
        try:
            stack.up(["all"], on_result=report)
        except DevstackError as exc:
            print(f"devstack could not start what the suite uses: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        print(  # noqa: T201 - progress of make test
            f"devstack for the suite: {len(started)} started (the rest already ran)"
            f" in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        return run_phases(phase_commands(args.workers, args.reports, args.pytest_args))
    finally:
        if started:
            stopped = stack.down(started, dependents=False)
            print(f"devstack after the suite: stopped {', '.join(stopped)}", flush=True)  # noqa: T201


if __name__ == "__main__":
    raise SystemExit(main())
