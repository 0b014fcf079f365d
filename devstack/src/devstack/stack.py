"""The stack: resolves component names, provisions, starts in order, stops."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import psutil

from devstack import process
from devstack.component import Component, Context
from devstack.components import ALL, GROUPS
from devstack.errors import DevstackError
from devstack.files import write_atomic


@dataclass
class ComponentStatus:
    name: str
    running: bool
    ready: bool
    pids: list[int] = field(default_factory=list)
    rss_bytes: int = 0
    endpoints: dict[str, str] = field(default_factory=dict)
    ready_seconds: float | None = None
    log_file: str = ""


@dataclass
class UpResult:
    name: str
    # "started", "reused" (already running and ready) or "tool" (nothing to run)
    action: str
    ready_seconds: float = 0.0
    provision_seconds: float = 0.0

    def progress(self) -> str | None:
        """The line `devstack up` and `make test` print for it (None for a tool)."""
        if self.action == "started":
            return f"  {self.name:<24} started, ready in {self.ready_seconds:.1f}s"
        if self.action == "reused":
            return f"  {self.name:<24} already running"
        return None


class Stack:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.components: dict[str, Component] = {cls.name: cls(ctx) for cls in ALL}

    # --- names ---------------------------------------------------------
    def _requested(self, names: Iterable[str]) -> list[str]:
        """Names and groups to component names, without their requirements."""
        requested: list[str] = []
        for name in names:
            if name == "all":
                requested.extend(n for n, c in self.components.items() if c.default)
            elif name in GROUPS:
                requested.extend(GROUPS[name])
            elif name in self.components:
                requested.append(name)
            else:
                known = ", ".join([*self.components, *GROUPS, "all"])
                raise DevstackError(name, f"unknown component; known: {known}")
        return requested

    def expand(self, names: Iterable[str]) -> list[str]:
        """Names and groups to component names, with requirements first."""
        requested = self._requested(names)
        ordered: list[str] = []

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if name in ordered:
                return
            if name in trail:
                raise DevstackError(name, f"requirement cycle: {' -> '.join((*trail, name))}")
            for dep in self.components[name].requires:
                visit(dep, (*trail, name))
            ordered.append(name)

        for name in requested:
            visit(name, ())
        return ordered

    def default_names(self) -> list[str]:
        return self.expand(["all"])

    # --- provisioning ----------------------------------------------------
    def provision(self, names: Sequence[str]) -> dict[str, float]:
        """Provision the named components; seconds spent per component that did work."""
        spent: dict[str, float] = {}
        for name in self.expand(names):
            started = time.monotonic()
            if self.components[name].provision():
                spent[name] = round(time.monotonic() - started, 1)
        return spent

    # --- running -----------------------------------------------------------
    def is_running(self, component: Component) -> bool:
        specs = component.processes()
        return bool(specs) and all(
            process.read_pid_file(component.pid_file(spec.name)) is not None for spec in specs
        )

    def _probe(self, component: Component) -> bool:
        try:
            return component.ready()
        except Exception:
            return False

    def up(
        self, names: Sequence[str], on_result: Callable[[UpResult], None] | None = None
    ) -> list[UpResult]:
        """Starts names and what they need, in order. on_result hears of each component
        as soon as it is ready: a cold start of everything takes minutes."""
        results = []
        for name in self.expand(names):
            result = self._up_one(self.components[name])
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    def _up_one(self, component: Component) -> UpResult:
        started = time.monotonic()
        component.provision()
        provision_seconds = time.monotonic() - started
        specs = component.processes()
        if not specs:
            return UpResult(component.name, "tool", 0.0, provision_seconds)
        # Two runs (say, two test sessions) may start the same component at
        # once: the second waits here until the first has it ready, then reuses it.
        with process.file_lock(self.ctx.paths.state / "locks" / f"{component.name}.lock"):
            if self.is_running(component) and self._probe(component):
                component.after_ready()
                return UpResult(component.name, "reused", 0.0, provision_seconds)
            return self._start(component, provision_seconds)

    def _start(self, component: Component, provision_seconds: float) -> UpResult:
        specs = component.processes()
        # Half-running (a process died, or it never got ready): stop the rest
        # before starting clean. Holding the lock, nobody else is starting it.
        self._stop_component(component)
        process.ensure_ports_free(
            component.name, list(component.endpoints().values()), component.log_file
        )
        component.prepare()
        t0 = time.monotonic()
        pid_files = []
        for spec in specs:
            pid_file = component.pid_file(spec.name)
            process.start(
                spec,
                log_file=component.log_file_for(spec.name),
                pid_file=pid_file,
                tie_to_parent=self.ctx.tie_to_parent,
            )
            pid_files.append(pid_file)
        try:
            process.wait_until_ready(
                component.name,
                component.ready,
                timeout=component.ready_timeout,
                pid_files=pid_files,
                log_file=component.log_file,
                hint=component.start_hint,
            )
            component.after_ready()
        except BaseException:
            self._stop_component(component)
            raise
        ready_seconds = time.monotonic() - t0
        self._record(component.name, ready_seconds)
        return UpResult(
            component.name, "started", round(ready_seconds, 2), round(provision_seconds, 2)
        )

    def _stop_component(self, component: Component) -> bool:
        specs = component.processes()
        if any(process.read_pid_file(component.pid_file(s.name)) for s in specs):
            component.before_stop()
        stopped = False
        for spec in reversed(specs):
            stopped |= process.stop(component.pid_file(spec.name), timeout=component.stop_timeout)
        if specs:
            component.after_stop()
        return stopped

    def stopping_order(self, names: Sequence[str] | None = None) -> list[str]:
        """The named components (all if None) and what requires them, dependents first."""
        wanted = set(self._requested(names) if names else self.components)
        grew = True
        while grew:
            grew = False
            for name, component in self.components.items():
                if name not in wanted and wanted & set(component.requires):
                    wanted.add(name)
                    grew = True
        return [n for n in reversed(self.expand(list(self.components))) if n in wanted]

    def down(
        self,
        names: Sequence[str] | None = None,
        *,
        purge: bool = False,
        dependents: bool = True,
    ) -> list[str]:
        """Stop components (all if names is None) and what requires them, dependents first.

        dependents=False stops exactly the named components (the test fixtures
        stop only what they started).
        """
        if dependents or not names:
            order = self.stopping_order(names)
        else:
            order = [n for n in self.stopping_order(None) if n in set(self._requested(names))]
        stopped = []
        for name in order:
            component = self.components[name]
            if self._stop_component(component):
                stopped.append(name)
            if purge:
                component.purge()
        return stopped

    # --- reporting -----------------------------------------------------------
    def _record(self, name: str, ready_seconds: float) -> None:
        path = self.ctx.paths.state / "status.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        data[name] = {"ready_seconds": round(ready_seconds, 2), "started_at": time.time()}
        write_atomic(path, json.dumps(data, indent=1))

    def status(self, names: Sequence[str] | None = None) -> list[ComponentStatus]:
        try:
            recorded = json.loads((self.ctx.paths.state / "status.json").read_text())
        except (FileNotFoundError, ValueError):
            recorded = {}
        out = []
        for name in self.expand(names) if names else list(self.components):
            component = self.components[name]
            if not component.processes():
                continue
            pids, rss = [], 0
            for spec in component.processes():
                proc = process.read_pid_file(component.pid_file(spec.name))
                if proc is None:
                    continue
                pids.append(proc.pid)
                rss += _tree_rss(proc)
            running = bool(pids) and len(pids) == len(component.processes())
            out.append(
                ComponentStatus(
                    name=name,
                    running=running,
                    ready=running and self._probe(component),
                    pids=pids,
                    rss_bytes=rss,
                    endpoints={k: str(v) for k, v in component.endpoints().items()},
                    ready_seconds=recorded.get(name, {}).get("ready_seconds"),
                    log_file=str(component.log_file),
                )
            )
        return out

    def env(self, names: Sequence[str] | None = None) -> dict[str, str]:
        merged: dict[str, str] = {
            "PRODUCTSTORE_CACHE": str(self.ctx.paths.cache),
            "PRODUCTSTORE_STATE": str(self.ctx.paths.state),
        }
        for name in self.expand(names) if names else list(self.components):
            merged.update(self.components[name].env())
        return merged


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        family = [proc]
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total
