"""process: detached start, pid files that survive pid reuse, group stop, port checks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devstack import process
from devstack.errors import DevstackError
from devstack.process import Endpoint, ProcessSpec

# A parent that forks a grandchild and records its pid, then sleeps.
FAMILY = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open(sys.argv[1], "w").write(str(child.pid))
    time.sleep(300)
    """
)


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def _wait_for(path: Path, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_stop_reaches_grandchildren(tmp_path: Path) -> None:
    pid_file = tmp_path / "p.pid"
    child_pid_file = tmp_path / "child"
    proc = process.start(
        ProcessSpec("family", [sys.executable, "-c", FAMILY, str(child_pid_file)]),
        log_file=tmp_path / "family.log",
        pid_file=pid_file,
    )
    grandchild = psutil.Process(int(_wait_for(child_pid_file)))
    assert process.read_pid_file(pid_file) is not None
    assert process.stop(pid_file, timeout=10) is True
    assert not pid_file.exists()
    psutil.wait_procs([grandchild], timeout=10)
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    assert process.stop(pid_file) is False


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "stubborn.pid"
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
    proc = process.start(
        ProcessSpec("stubborn", [sys.executable, "-c", script]),
        log_file=tmp_path / "s.log",
        pid_file=pid_file,
    )
    time.sleep(0.3)
    assert process.stop(pid_file, timeout=1) is True
    assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE


def test_pid_file_of_a_recycled_pid_is_stale(tmp_path: Path) -> None:
    pid_file = tmp_path / "old.pid"
    # Our own pid with a different start time: what a reused pid looks like.
    pid_file.write_text(json.dumps({"pid": os.getpid(), "create_time": 1.0, "argv": ["x"]}))
    assert process.read_pid_file(pid_file) is None
    assert not pid_file.exists()
    assert process.stop(pid_file) is False


def test_process_output_goes_to_its_log(tmp_path: Path) -> None:
    log = tmp_path / "echo.log"
    pid_file = tmp_path / "echo.pid"
    process.start(
        ProcessSpec("echo", [sys.executable, "-c", "print('hello from child')"]),
        log_file=log,
        pid_file=pid_file,
    )
    deadline = time.monotonic() + 10
    while "hello from child" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "hello from child" in process.tail(log)
    process.stop(pid_file)


def test_missing_executable_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match="make setup"):
        process.start(
            ProcessSpec("ghost", ["/nonexistent/ghost-server"]),
            log_file=tmp_path / "g.log",
            pid_file=tmp_path / "g.pid",
        )


def test_taken_port_is_reported_with_its_owner(tmp_path: Path, free_port: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port))
        sock.listen()
        with pytest.raises(DevstackError) as info:
            process.ensure_ports_free(
                "redis", [Endpoint("127.0.0.1", free_port)], tmp_path / "redis.log"
            )
    text = str(info.value)
    assert text.startswith("redis: ")
    assert f"127.0.0.1:{free_port} is already in use by pid {os.getpid()}" in text
    assert "redis.log" in text
    assert "devstack down" in text


def test_wait_fails_fast_when_the_process_dies(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    pid_file = tmp_path / "crash.pid"
    script = "import sys; print('FATAL: bad config line 3'); sys.exit(1)"
    process.start(
        ProcessSpec("crash", [sys.executable, "-c", script]), log_file=log, pid_file=pid_file
    )
    started = time.monotonic()
    with pytest.raises(DevstackError) as info:
        process.wait_until_ready(
            "crash",
            lambda: False,
            timeout=60,
            pid_files=[pid_file],
            log_file=log,
            hint="fix the config",
        )
    assert time.monotonic() - started < 30
    assert "exited during start-up" in str(info.value)
    assert "FATAL: bad config line 3" in str(info.value)
    assert "fix: fix the config" in str(info.value)


def test_wait_times_out_with_the_last_probe_error(tmp_path: Path) -> None:
    pid_file = tmp_path / "slow.pid"
    process.start(
        ProcessSpec("slow", [sys.executable, "-c", "import time; time.sleep(60)"]),
        log_file=tmp_path / "slow.log",
        pid_file=pid_file,
    )

    def probe() -> bool:
        raise ConnectionRefusedError("nobody home")

    try:
        with pytest.raises(DevstackError, match=r"not ready after 1s.*nobody home"):
            process.wait_until_ready(
                "slow",
                probe,
                timeout=1,
                pid_files=[pid_file],
                log_file=tmp_path / "slow.log",
                hint="wait",
                interval=0.1,
            )
    finally:
        process.stop(pid_file)


def test_tied_process_dies_with_its_parent(tmp_path: Path) -> None:
    """What keeps a SIGKILLed pytest from leaving servers behind."""
    pid_file = tmp_path / "tied.pid"
    parent_script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from devstack import process
        from devstack.process import ProcessSpec
        process.start(
            ProcessSpec("tied", [sys.executable, "-c", "import time; time.sleep(300)"]),
            log_file=Path({str(tmp_path / "tied.log")!r}),
            pid_file=Path({str(pid_file)!r}),
            tie_to_parent=True,
        )
        time.sleep(300)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_script])
    try:
        record = json.loads(_wait_for(pid_file))
        child = psutil.Process(record["pid"])
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        gone, _ = psutil.wait_procs([child], timeout=10)
        assert gone, "the tied child outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_reload_wait_sees_a_server_s_old_workers_exit(tmp_path: Path) -> None:
    """What Nginx.reload relies on: the children named via a plain pid file, then their exit."""
    assert process.children_of_pid_file(tmp_path / "missing.pid") == []
    # A "master" whose one worker lives 1 s, as an old nginx worker finishing its requests.
    master = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1)']).wait(); "
            "time.sleep(30)",
        ]
    )
    try:
        pid_file = tmp_path / "master.pid"
        pid_file.write_text(f"{master.pid}\n")
        deadline = time.monotonic() + 10
        while not (workers := process.children_of_pid_file(pid_file)):
            assert time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        assert not process.wait_until_gone(workers, timeout=0.01)
        assert process.wait_until_gone(workers, timeout=10)
        assert process.children_of_pid_file(pid_file) == []
    finally:
        master.kill()
        master.wait()
