"""The suite's time per package and module, from a JUnit report pytest really wrote."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.test_times import main, read, table


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pytest's own JUnit XML of a small tree shaped like ours: tests/<package>/…"""
    root = tmp_path_factory.mktemp("suite")
    slow, fast = root / "tests" / "slow", root / "tests" / "fast" / "api"
    for folder in (root / "tests", slow, root / "tests" / "fast", fast):
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
    (slow / "test_wait.py").write_text(
        textwrap.dedent(
            """
            import time
            import pytest

            @pytest.fixture
            def slow_teardown():
                yield
                time.sleep(0.3)

            def test_sleeps(slow_teardown):
                time.sleep(0.2)
            """
        )
    )
    (fast / "test_quick.py").write_text(
        "def test_one():\n    pass\n\ndef test_two():\n    assert False\n"
    )
    out = root / "junit.xml"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-c", "/dev/null", "--rootdir", str(root)),
            *("-p", "no:cacheprovider", f"--junitxml={out}", "tests"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # test_two fails, on purpose
    return out


def test_seconds_include_setup_and_teardown_and_failed_tests_count(report: Path) -> None:
    times = read(report)
    assert times.tests == 3
    slow_seconds, slow_tests = times.packages["slow"]
    assert slow_tests == 1
    assert slow_seconds >= 0.5, "the call's 0.2 s and the teardown's 0.3 s"
    assert times.packages["fast"][1] == 2
    assert list(times.packages) == ["slow", "fast"], "slowest first"
    assert next(iter(times.modules)) == "tests.slow.test_wait"
    assert times.total_seconds == pytest.approx(sum(s for s, _ in times.packages.values()))


def test_the_table_and_the_json_say_the_same(
    report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = read(report)
    text = table(times, modules=1)
    assert "tests.slow.test_wait" in text and "tests.fast.api.test_quick" not in text
    assert main([str(report), "--json", "--modules", "5"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["tests"] == 3
    assert set(found["packages"]) == {"slow", "fast"}
    assert next(iter(found["slowest_modules"])) == "tests.slow.test_wait"


def test_a_missing_or_broken_report_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"cannot read the JUnit report .*missing\.xml"):
        read(tmp_path / "missing.xml")
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testcase")
    with pytest.raises(SystemExit, match=r"cannot read the JUnit report .*broken\.xml"):
        read(broken)


def test_a_negative_module_count_is_refused(
    report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        main([str(report), "--modules", "-1"])
    assert refused.value.code == 2
    assert "--modules must be 0 or more, not -1" in capsys.readouterr().err
