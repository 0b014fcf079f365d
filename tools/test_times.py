"""Where the suite's time goes: seconds per test package and per module, read from
the JUnit XML files that `make test` writes (setup, call and teardown of each test;
the parallel phase's tests overlap, so their sum is more than its wall time).

The suite's length is what keeps cold setup plus `make test` inside CI's budget;
this is the table to read before moving, merging or parallelising tests.

    python tools/test_times.py .coverage-data/junit-*.xml [--modules 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Times:
    """Seconds and test counts per package (tests/<package>) and per module."""

    total_seconds: float
    tests: int
    packages: dict[str, tuple[float, int]]
    modules: dict[str, tuple[float, int]]

    def as_json(self, modules: int) -> dict[str, object]:
        return {
            "total_seconds": round(self.total_seconds, 1),
            "tests": self.tests,
            "packages": {
                name: {"seconds": round(seconds, 1), "tests": count}
                for name, (seconds, count) in self.packages.items()
            },
            "slowest_modules": {
                name: {"seconds": round(seconds, 1), "tests": count}
                for name, (seconds, count) in list(self.modules.items())[:modules]
            },
        }


def read(*reports: Path) -> Times:
    """The times of every test case in pytest JUnit XML reports (a case's classname is
    the dotted module path, e.g. ``tests.orders.api.test_carts``)."""
    cases: list[ET.Element] = []
    for report in reports:
        try:
            root = ET.parse(report).getroot()  # noqa: S314 - our own pytest wrote it
        except (OSError, ET.ParseError) as exc:
            raise SystemExit(f"cannot read the JUnit report {report}: {exc}") from exc
        cases.extend(root.iter("testcase"))
    package_seconds: defaultdict[str, float] = defaultdict(float)
    package_tests: Counter[str] = Counter()
    module_seconds: defaultdict[str, float] = defaultdict(float)
    module_tests: Counter[str] = Counter()
    for case in cases:
        seconds = float(case.get("time") or 0.0)
        module = case.get("classname") or case.get("file") or "?"
        parts = module.split(".")
        # tests.<package>.… ; a class inside a module adds a part, which stays in the name.
        package = parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0]
        package_seconds[package] += seconds
        package_tests[package] += 1
        module_seconds[module] += seconds
        module_tests[module] += 1
    return Times(
        total_seconds=sum(package_seconds.values()),
        tests=sum(package_tests.values()),
        packages={
            name: (package_seconds[name], package_tests[name]) for name in _slowest(package_seconds)
        },
        modules={
            name: (module_seconds[name], module_tests[name]) for name in _slowest(module_seconds)
        },
    )


def _slowest(seconds: dict[str, float]) -> list[str]:
    return sorted(seconds, key=lambda name: (-seconds[name], name))


def table(times: Times, modules: int) -> str:
    lines = [f"{'package':<40} {'seconds':>9} {'tests':>6} {'share':>6}"]
    for name, (seconds, count) in times.packages.items():
        share = seconds / times.total_seconds if times.total_seconds else 0.0
        lines.append(f"{name:<40} {seconds:>9.1f} {count:>6} {share:>6.1%}")
    lines.append(f"{'all':<40} {times.total_seconds:>9.1f} {times.tests:>6}")
    lines.append("")
    lines.append(f"{'slowest modules':<60} {'seconds':>9} {'tests':>6}")
    for name, (seconds, count) in list(times.modules.items())[:modules]:
        lines.append(f"{name:<60} {seconds:>9.1f} {count:>6}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", type=Path, nargs="+", help="pytest's --junitxml files")
    parser.add_argument("--modules", type=int, default=15, help="how many slowest modules")
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = parser.parse_args(argv)
    if args.modules < 0:
        parser.error(f"--modules must be 0 or more, not {args.modules}")
    times = read(*args.reports)
    if args.json:
        json.dump(times.as_json(args.modules), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(table(times, args.modules))  # noqa: T201 - the report is the output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
