"""The generators' output: standard output, or a file replaced in one rename."""

from __future__ import annotations

from pathlib import Path

import pytest

from productstore_operator.files import emit, write_atomic


def test_emit_without_a_file_prints(capsys: pytest.CaptureFixture[str]) -> None:
    emit("kind: Thing\n", None)
    assert capsys.readouterr().out == "kind: Thing\n"


def test_a_file_is_replaced_whole_and_readable(tmp_path: Path) -> None:
    target = tmp_path / "rules.yml"
    target.write_text("old\n")
    emit("new\n", target)
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    # Nothing is left beside it: the temporary file was renamed over the target.
    assert [p.name for p in tmp_path.iterdir()] == ["rules.yml"]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "crd.yaml"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad \udcff surrogate\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["crd.yaml"]
