"""make test's two phases: parallel on xdist workers, then the serial tests alone."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import suite_groups
from tools.run_suite import main, phase_commands, run_phases

REPO = Path(__file__).resolve().parents[2]

XDIST_ENV = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


def test_the_phases_select_by_the_serial_marker_and_pass_the_arguments_on(tmp_path: Path) -> None:
    (parallel_name, parallel), (serial_name, serial) = phase_commands(2, tmp_path, ["-x", "tests"])
    assert (parallel_name, serial_name) == ("parallel", "serial")
    assert parallel[:3] == serial[:3] == [sys.executable, "-m", "pytest"]
    parallel, serial = parallel[3:], serial[3:]
    assert parallel[parallel.index("-m") + 1] == "not serial"
    assert "--devstack=reuse" in parallel, "the workers start and stop nothing"
    assert parallel[parallel.index("-n") + 1] == "2"
    assert parallel[parallel.index("--dist") + 1] == "loadgroup"
    assert serial[serial.index("-m") + 1] == "serial"
    assert "--devstack=auto" in serial and "-n" not in serial
    assert parallel[-2:] == serial[-2:] == ["-x", "tests"]
    assert f"--junitxml={tmp_path / 'junit-parallel.xml'}" in parallel
    assert f"--junitxml={tmp_path / 'junit-serial.xml'}" in serial
    (_, one_worker), _ = phase_commands(1, tmp_path, [])
    assert "-n" not in one_worker[3:] and "--dist" not in one_worker


def test_both_phases_run_the_serial_tests_after_and_alone_and_a_failure_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in XDIST_ENV:  # when this test itself runs on a worker
        monkeypatch.delenv(name, raising=False)
    root, seen = tmp_path / "tree", tmp_path / "seen"
    (root / "tests").mkdir(parents=True)
    seen.mkdir()
    (root / "tests" / "test_parallel.py").write_text(
        textwrap.dedent(
            f"""
            import os, pathlib, pytest

            @pytest.mark.parametrize("n", range(4))
            def test_records_its_worker(n):
                worker = os.environ.get("PYTEST_XDIST_WORKER", "none")
                pathlib.Path({str(seen)!r}, f"parallel-{{n}}").write_text(worker)

            def test_fails():
                assert False
            """
        )
    )
    (root / "tests" / "test_serial.py").write_text(
        textwrap.dedent(
            f"""
            import os, pathlib, pytest

            @pytest.mark.serial
            def test_alone_and_last():
                done = sorted(p.name for p in pathlib.Path({str(seen)!r}).iterdir())
                pathlib.Path({str(seen)!r}, "serial").write_text(
                    os.environ.get("PYTEST_XDIST_WORKER", "none") + " " + ",".join(done)
                )
            """
        )
    )
    monkeypatch.chdir(root)
    extra = [
        "-c",
        "/dev/null",
        "--rootdir",
        str(root),
        "-p",
        "no:cacheprovider",
        "-p",
        "devstack.pytest_plugin",
        "-q",
        "tests",
    ]
    status = run_phases(phase_commands(2, tmp_path, extra))

    assert status == 1, "the parallel phase's failure is the suite's"
    workers = {(seen / f"parallel-{n}").read_text() for n in range(4)}
    assert workers == {"gw0", "gw1"}, "two workers shared the parallel phase"
    assert (seen / "serial").read_text() == "none " + ",".join(f"parallel-{n}" for n in range(4)), (
        "the serial test ran in its own process, after every parallel one"
    )
    parallel = ET.parse(tmp_path / "junit-parallel.xml").getroot()  # noqa: S314
    serial = ET.parse(tmp_path / "junit-serial.xml").getroot()  # noqa: S314
    assert len(list(parallel.iter("testcase"))) == 5
    assert [case.get("name") for case in serial.iter("testcase")] == ["test_alone_and_last"]


def test_a_phase_with_nothing_selected_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in XDIST_ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "test_only_parallel.py").write_text("def test_one():\n    pass\n")
    monkeypatch.chdir(tmp_path)
    extra = [
        *("-c", "/dev/null", "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-q"),
        *("-p", "devstack.pytest_plugin"),
    ]
    assert run_phases(phase_commands(1, tmp_path, [*extra, "test_only_parallel.py"])) == 0


def test_a_worker_count_below_one_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["--workers", "0"])
    assert refused.value.code == 2
    assert "--workers must be 1 or more, not 0" in capsys.readouterr().err


def test_a_module_with_a_test_on_the_node_is_in_the_node_group_whole() -> None:
    groups = suite_groups.assign(
        [
            ("tests/devstack/test_node.py::test_config", ["tmp_path"]),
            ("tests/devstack/test_node.py::test_pod[a]", ["kube_api", "real_node"]),
            ("tests/devstack/test_node_down.py::test_clean", ["node_stopped_first"]),
            ("tests/devstack/test_stack.py::test_down", ["kube_api"]),
            ("tests/catalog/api/test_search.py::TestSearch::test_one", []),
            ("tests/smoke/test_store_on_node.py::test_serves", ["real_node"]),
        ]
    )
    assert groups == {
        "tests/devstack/test_node.py::test_config": "node",
        "tests/devstack/test_node.py::test_pod[a]": "node",
        "tests/devstack/test_node_down.py::test_clean": "node",
        "tests/devstack/test_stack.py::test_down": "devstack",
        "tests/catalog/api/test_search.py::TestSearch::test_one": "catalog",
        "tests/smoke/test_store_on_node.py::test_serves": "node",
    }
    ordered = sorted(["catalog", "smoke", "node", "wishlist", "operator"], key=suite_groups.rank)
    assert ordered == ["node", "operator", "smoke", "catalog", "wishlist"]


def test_our_groups_keep_each_package_on_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own conftest and scheduler, on two small modules of two packages
    (xdist 3.8's loadgroup alone would spread their tests over both workers)."""
    for name in XDIST_ENV:
        monkeypatch.delenv(name, raising=False)
    modules = ["tests/tools/test_test_times.py", "tests/devstack/test_artifacts.py"]
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"),
            *("-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "--devstack=reuse"),
            *modules,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ran = re.findall(r"^\[(gw\d)\] \[\s*\d+%\] PASSED (\S+?)::", run.stdout, re.MULTILINE)
    workers = {module: {worker for worker, seen in ran if seen == module} for module in modules}
    assert all(len(used) == 1 for used in workers.values()), workers
    assert set.union(*workers.values()) == {"gw0", "gw1"}, "each group had a worker of its own"
