"""`/healthz` (the process is alive) and `/readyz` (its dependencies answer).

Liveness never touches a dependency: a Cassandra outage must not make Kubernetes
restart every replica. Readiness runs every registered check concurrently, each
with its own timeout, and answers 503 problem+json naming the failing ones, so
the Pod leaves the Service's endpoints until they recover.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from productstore_common.errors import Problem, problem_response

ReadinessCheck = Callable[[], Awaitable[object]]
"""An async callable that raises (or returns False) when its dependency is not usable."""

DEFAULT_CHECK_TIMEOUT_SECONDS = 2.0
_MAX_REASON_CHARS = 200


class ReadinessChecks:
    """The named readiness checks of one app; services add theirs at start-up."""

    def __init__(
        self,
        checks: Mapping[str, ReadinessCheck] | None = None,
        timeout_seconds: float = DEFAULT_CHECK_TIMEOUT_SECONDS,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._checks: dict[str, ReadinessCheck] = {}
        for name, check in (checks or {}).items():
            self.add(name, check)

    def add(self, name: str, check: ReadinessCheck) -> None:
        if name in self._checks:
            raise ValueError(f"a readiness check named {name!r} exists already")
        self._checks[name] = check

    async def _run(self, check: ReadinessCheck) -> dict[str, Any]:
        started = time.perf_counter()
        result: dict[str, Any]
        try:
            outcome = await asyncio.wait_for(check(), self.timeout_seconds)
        except TimeoutError:
            result = {"status": "fail", "reason": f"timed out after {self.timeout_seconds:g}s"}
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS]
            result = {"status": "fail", "reason": reason}
        else:
            result = (
                {"status": "fail", "reason": "check returned False"}
                if outcome is False
                else {"status": "ok"}
            )
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    async def run(self) -> dict[str, dict[str, Any]]:
        """Every check's result by name: status ok|fail, duration_ms, reason."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[name]) for name in names))
        return dict(zip(names, results, strict=True))


def readiness_of(app: FastAPI) -> ReadinessChecks:
    """The `ReadinessChecks` that `create_app` attached to `app`."""
    checks = getattr(app.state, "readiness", None)
    if isinstance(checks, ReadinessChecks):
        return checks
    raise RuntimeError("this app has no readiness checks; build it with create_app")


def health_router(checks: ReadinessChecks) -> APIRouter:
    """`GET /healthz` and `GET /readyz` (operational, not in the OpenAPI document)."""
    router = APIRouter()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        results = await checks.run()
        failing = [name for name, result in results.items() if result["status"] != "ok"]
        if failing:
            detail = "Not ready: " + "; ".join(
                f"{name} ({results[name]['reason']})" for name in failing
            )
            problem = Problem(503, "Service Unavailable", detail, extra={"checks": results})
            return problem_response(problem, request)
        return JSONResponse({"status": "ok", "checks": results})

    return router
