"""Child processes: start detached with a log and a pid file, check, stop.

Every server devstack runs is a process group of its own, so stopping it
reaches the helpers it forked, and a pid file records the process's start
time so a recycled pid is never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from devstack.errors import DevstackError
from devstack.files import write_atomic

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessSpec:
    """One OS process of a component (a component may run several)."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True)
class Endpoint:
    """A TCP address a component listens on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when its parent dies.

    Used for processes owned by a test session, so a killed pytest leaves no
    servers behind.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process on this machine.

    The kernel drops it when the holder dies, so a killed run never leaves
    it taken.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_pid_file(pid_file: Path) -> psutil.Process | None:
    """The live process recorded in pid_file, or None (and the stale file removed)."""
    try:
        record = json.loads(pid_file.read_text())
        proc = psutil.Process(int(record["pid"]))
        if abs(proc.create_time() - float(record["create_time"])) > 0.5:
            raise psutil.NoSuchProcess(int(record["pid"]))
        if proc.status() == psutil.STATUS_ZOMBIE:
            raise psutil.NoSuchProcess(int(record["pid"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, psutil.Error):
        pid_file.unlink(missing_ok=True)
        return None
    return proc


def children_of_pid_file(pid_file: Path) -> list[psutil.Process]:
    """The children of the process a plain pid file names (a server's own, e.g. nginx's)."""
    try:
        return psutil.Process(int(pid_file.read_text().strip())).children()
    except (FileNotFoundError, ValueError, psutil.Error):
        return []


def wait_until_gone(processes: list[psutil.Process], timeout: float) -> bool:
    """Wait until every one of processes has exited (or is a zombie); False on timeout."""
    _gone, alive = psutil.wait_procs(processes, timeout=timeout)
    return all(proc.status() == psutil.STATUS_ZOMBIE for proc in alive if proc.is_running())


def start(
    spec: ProcessSpec,
    *,
    log_file: Path,
    pid_file: Path,
    tie_to_parent: bool = False,
) -> psutil.Process:
    """Start spec detached from the terminal; stdout and stderr go to log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    on_main_thread = threading.current_thread() is threading.main_thread()
    with log_file.open("ab") as log:
        log.write(f"\n=== devstack start {time.strftime('%Y-%m-%dT%H:%M:%S')}: ".encode())
        log.write((" ".join(spec.argv) + "\n").encode())
        log.flush()
        try:
            popen = psutil.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=spec.cwd,
                env=env,
                start_new_session=True,
                # PR_SET_PDEATHSIG follows the creating *thread*: from a worker
                # thread the server would die when that thread ends, so only
                # the main thread ties (the fixtures still stop what they start).
                preexec_fn=_die_with_parent if tie_to_parent and on_main_thread else None,
            )
        except OSError as exc:
            raise DevstackError(
                spec.name,
                f"cannot execute {spec.argv[0]}: {exc}",
                log_file=log_file,
                hint="run `make setup` (or `devstack provision`) to install it",
            ) from exc
    record = {"pid": popen.pid, "create_time": popen.create_time(), "argv": list(spec.argv)}
    write_atomic(pid_file, json.dumps(record))
    return popen


def stop(pid_file: Path, *, timeout: float = 30.0) -> bool:
    """Stop the process group recorded in pid_file. True if something was running."""
    proc = read_pid_file(pid_file)
    if proc is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [proc]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(family, timeout=timeout)
    if alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for member in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(alive, timeout=10)
    # Our own child (started in this Python process) must be reaped too.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(proc.pid, os.WNOHANG)
    pid_file.unlink(missing_ok=True)
    return True


def port_open(endpoint: Endpoint, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on endpoint."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(endpoint: Endpoint) -> str:
    """A short description of who listens on endpoint, for error messages."""
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if (
                conn.status == psutil.CONN_LISTEN
                and conn.laddr
                and conn.laddr.port == endpoint.port
                and conn.laddr.ip in (endpoint.host, "0.0.0.0", "::")  # noqa: S104 - matches listeners, binds none
            ):
                if conn.pid is None:
                    return "an unknown process"
                with contextlib.suppress(psutil.Error):
                    proc = psutil.Process(conn.pid)
                    return f"pid {conn.pid} ({' '.join(proc.cmdline()[:3])})"
                return f"pid {conn.pid}"
    return "another process"


def ensure_ports_free(component: str, endpoints: Sequence[Endpoint], log_file: Path) -> None:
    """Fail before starting if one of the component's ports is already taken."""
    for endpoint in endpoints:
        if port_open(endpoint, timeout=0.2):
            raise DevstackError(
                component,
                f"port {endpoint} is already in use by {port_owner(endpoint)}",
                log_file=log_file,
                hint=(
                    "stop that process (if it is an old devstack: `devstack down`), "
                    "or reuse it with PRODUCTSTORE_DEVSTACK=reuse"
                ),
            )


def tail(log_file: Path, lines: int = 25) -> str:
    """The last lines of a log file (empty if there is none)."""
    try:
        with log_file.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def wait_until_ready(
    component: str,
    check: Callable[[], bool],
    *,
    timeout: float,
    pid_files: Sequence[Path],
    log_file: Path,
    hint: str,
    interval: float = 0.5,
) -> float:
    """Poll check until it passes; fail early if a process of the component died.

    Returns the seconds waited.
    """
    started = time.monotonic()
    deadline = started + timeout
    last_error = ""
    while True:
        for pid_file in pid_files:
            if read_pid_file(pid_file) is None:
                raise DevstackError(
                    component,
                    f"exited during start-up; last log lines:\n{tail(log_file)}",
                    log_file=log_file,
                    hint=hint,
                )
        try:
            if check():
                return time.monotonic() - started
        except Exception as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            detail = f" (last probe error: {last_error})" if last_error else ""
            raise DevstackError(
                component,
                f"not ready after {timeout:.0f}s{detail}; last log lines:\n{tail(log_file)}",
                log_file=log_file,
                hint=hint,
            )
        time.sleep(interval)
