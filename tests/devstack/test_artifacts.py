"""artifacts.ensure: provisioned once, never half, redone when the pin changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devstack import artifacts
from devstack.errors import DevstackError


def _writer(calls: list[Path], payload: bytes = b"jar-bytes") -> Callable[[Path], None]:
    def build(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "lib").mkdir()
        (tmp / "lib" / "a.jar").write_bytes(payload)

    return build


def test_second_run_does_nothing(tmp_path: Path) -> None:
    calls: list[Path] = []
    dest = tmp_path / "thing-1.0"
    assert artifacts.ensure("thing", dest, "v1", _writer(calls)) is True
    assert artifacts.ensure("thing", dest, "v1", _writer(calls)) is False
    assert len(calls) == 1
    assert (dest / "lib" / "a.jar").read_bytes() == b"jar-bytes"


def test_failed_build_leaves_nothing_that_counts(tmp_path: Path) -> None:
    dest = tmp_path / "thing-1.0"

    def broken(tmp: Path) -> None:
        (tmp / "half.jar").write_bytes(b"partial")
        raise DevstackError("thing", "download interrupted")

    with pytest.raises(DevstackError, match="download interrupted"):
        artifacts.ensure("thing", dest, "v1", broken)
    assert not dest.exists()
    assert not list(tmp_path.glob("thing-1.0.partial-*"))
    assert artifacts.is_complete(dest, "v1") is False


def test_leftover_partial_directory_is_ignored_and_removed(tmp_path: Path) -> None:
    dest = tmp_path / "thing-1.0"
    leftover = tmp_path / "thing-1.0.partial-99999"
    leftover.mkdir()
    (leftover / "a.jar").write_bytes(b"half")
    calls: list[Path] = []
    assert artifacts.ensure("thing", dest, "v1", _writer(calls)) is True
    assert not leftover.exists()


def test_changed_pin_provisions_again(tmp_path: Path) -> None:
    calls: list[Path] = []
    dest = tmp_path / "thing"
    artifacts.ensure("thing", dest, "v1", _writer(calls, b"one"))
    assert artifacts.ensure("thing", dest, "v2", _writer(calls, b"two")) is True
    assert (dest / "lib" / "a.jar").read_bytes() == b"two"


def test_truncated_file_is_detected(tmp_path: Path) -> None:
    calls: list[Path] = []
    dest = tmp_path / "thing"
    artifacts.ensure("thing", dest, "v1", _writer(calls))
    (dest / "lib" / "a.jar").write_bytes(b"jar")
    assert artifacts.is_complete(dest, "v1") is False
    assert artifacts.ensure("thing", dest, "v1", _writer(calls)) is True


def test_same_size_corruption_is_found_by_verify(tmp_path: Path) -> None:
    calls: list[Path] = []
    dest = tmp_path / "thing"
    artifacts.ensure("thing", dest, "v1", _writer(calls))
    (dest / "lib" / "a.jar").write_bytes(b"jar-BYTES")
    assert artifacts.is_complete(dest, "v1") is True
    assert artifacts.is_complete(dest, "v1", verify_hashes=True) is False


def test_failing_command_names_component_log_and_fix(tmp_path: Path) -> None:
    log = tmp_path / "provision.log"
    with pytest.raises(DevstackError) as info:
        artifacts.run(
            "thing",
            ["python3", "-c", "import sys; print('checksum mismatch'); sys.exit(3)"],
            log_file=log,
            hint="clear the cache",
        )
    text = str(info.value)
    assert text.startswith("thing: ")
    assert "exit code 3" in text
    assert "checksum mismatch" in text
    assert str(log) in text
    assert "fix: clear the cache" in text


def test_missing_tool_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match="is not installed"):
        artifacts.run("thing", ["no-such-tool-xyz"], log_file=tmp_path / "p.log", hint="install it")
