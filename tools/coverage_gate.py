"""Line and branch coverage per package against the floors in coverage-floors.toml.

`make test` runs pytest under coverage (every Python process it starts is
measured too: see [tool.coverage.run] in pyproject.toml), combines the data
files, then runs this: one row per package, and exit status 1 when a package is
below its floor, has no floor, or was not measured at all.

    python tools/coverage_gate.py [--floors tools/coverage-floors.toml]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import coverage

REPO = Path(__file__).resolve().parents[1]
FLOORS = Path(__file__).with_name("coverage-floors.toml")
# A package this far above its floor gets a hint to raise it.
RAISE_HINT_MARGIN = 2.0


@dataclass(frozen=True)
class PackageCoverage:
    """Statements and branches of one package, summed over its files."""

    package: str
    statements: int = 0
    covered_lines: int = 0
    branches: int = 0
    covered_branches: int = 0

    @property
    def percent(self) -> float:
        """coverage.py's own total: covered lines and branches over all of both."""
        total = self.statements + self.branches
        if total == 0:
            return 100.0
        return 100.0 * (self.covered_lines + self.covered_branches) / total

    def __add__(self, other: PackageCoverage) -> PackageCoverage:
        return PackageCoverage(
            self.package,
            self.statements + other.statements,
            self.covered_lines + other.covered_lines,
            self.branches + other.branches,
            self.covered_branches + other.covered_branches,
        )


def package_of(path: str, root: Path = REPO) -> str | None:
    """The import package of a measured file: the folder after the workspace member's `src/`."""
    parts = PurePath(path).parts
    with contextlib.suppress(ValueError):
        parts = PurePath(path).relative_to(root).parts
    if "src" not in parts[:-1]:
        return None
    return parts[parts.index("src") + 1]


def per_package(files: Mapping[str, Any], root: Path = REPO) -> dict[str, PackageCoverage]:
    """Sum coverage.py's JSON report (`files`: path -> {"summary": ...}) per package."""
    totals: dict[str, PackageCoverage] = {}
    for path, entry in files.items():
        package = package_of(path, root)
        if package is None:
            continue
        summary = entry["summary"]
        totals[package] = totals.get(package, PackageCoverage(package)) + PackageCoverage(
            package,
            summary["num_statements"],
            summary["covered_lines"],
            summary.get("num_branches", 0),
            summary.get("covered_branches", 0),
        )
    return totals


def verdicts(measured: Mapping[str, PackageCoverage], floors: Mapping[str, float]) -> list[str]:
    """What fails the gate: packages below their floor, without one, or never measured."""
    problems = []
    for package, floor in sorted(floors.items()):
        if package not in measured:
            problems.append(f"{package}: no coverage data at all (is it in source_pkgs?)")
        elif measured[package].percent < floor:
            problems.append(
                f"{package}: {measured[package].percent:.1f} % is below its floor {floor:g} %"
            )
    problems += [
        f"{package}: measured but has no floor in {FLOORS.name}"
        for package in sorted(set(measured) - set(floors))
    ]
    return problems


def table(measured: Iterable[PackageCoverage], floors: Mapping[str, float]) -> str:
    header = ("stmts", "miss", "branch", "bmiss")
    rows = [
        f"{'package':<24} " + " ".join(f"{h:>6}" for h in header) + f" {'cover':>7} {'floor':>6}"
    ]
    for cov in sorted(measured, key=lambda c: c.package):
        floor = floors.get(cov.package)
        hint = ""
        if floor is not None and cov.percent >= floor + RAISE_HINT_MARGIN:
            hint = "  (raise the floor)"
        rows.append(
            f"{cov.package:<24} {cov.statements:>6} {cov.statements - cov.covered_lines:>6} "
            f"{cov.branches:>6} {cov.branches - cov.covered_branches:>6} {cov.percent:>6.1f}% "
            f"{'-' if floor is None else f'{floor:g}%':>6}{hint}"
        )
    return "\n".join(rows)


def load_floors(path: Path) -> dict[str, float]:
    with path.open("rb") as fh:
        return {name: float(value) for name, value in tomllib.load(fh)["floors"].items()}


def measure() -> dict[str, PackageCoverage]:
    """Per-package totals of the combined data file (COVERAGE_FILE or .coverage)."""
    cov = coverage.Coverage()
    cov.load()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "coverage.json"
        cov.json_report(outfile=str(report))
        return per_package(json.loads(report.read_text())["files"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floors", type=Path, default=FLOORS)
    args = parser.parse_args(argv)
    floors = load_floors(args.floors)
    measured = measure()
    print(table(measured.values(), floors))  # noqa: T201 - the report is the output
    problems = verdicts(measured, floors)
    for problem in problems:
        print(f"coverage gate: {problem}", file=sys.stderr)  # noqa: T201 - the verdict
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
