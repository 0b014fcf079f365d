"""RFC 9457 problem details: one error shape for every failure a service returns.

Every error a client sees, whether raised by our code (`Problem`), by FastAPI or
Starlette (`HTTPException`, unknown route, wrong method), by request validation or
by a bug (any other exception), is rendered as `application/problem+json` with
`instance` set to the request path. A bug never leaks a stack trace: the body
carries a generic detail and the trace id, the log carries the traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from opentelemetry import trace
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from productstore_common.telemetry.request_id import REQUEST_ID_HEADER

PROBLEM_CONTENT_TYPE = "application/problem+json"

_logger = logging.getLogger(__name__)

# Keys of the problem object itself; `extra` may not overwrite them.
_RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def status_title(status: int) -> str:
    """The standard reason phrase of `status` ("Not Found"), or "Error" if unknown."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class Problem(Exception):  # noqa: N818 - "Problem" is RFC 9457's own term
    """An RFC 9457 problem; raise it anywhere in a request to answer with it.

    `extra` becomes extension members of the body (e.g. `errors`, `balance`),
    `headers` are added to the response (e.g. `Retry-After`, `WWW-Authenticate`).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",  # shadows the builtin: it is the RFC 9457 member name
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"a problem's status must be 4xx or 5xx, got {status}")
        clashing = _RESERVED_MEMBERS.intersection(extra or {})
        if clashing:
            raise ValueError(f"extra members may not redefine {sorted(clashing)}")
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(jsonable_encoder(self.extra))
        return body


# RFC 9110's names where Python's HTTPStatus still has the older ones.
_RFC9110_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem(
    status: int,
    reason: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **members: Any,
) -> Problem:
    """A problem with a stable `reason` a client can act on, titled by its status.

    `detail` is for people; `reason` for code; `members` become extension members
    (`errors=[...]`, `balance=...`).
    """
    title = _RFC9110_TITLES.get(status) or status_title(status)
    return Problem(
        status, title, detail, headers=headers or None, extra={"reason": reason, **members}
    )


def body_field_problem(reason: str, detail: str, field: str, message: str) -> Problem:
    """A 422 about one member of the JSON body that passed validation but breaks a rule
    only the service knows (a category that does not exist): `errors` has the shape of
    request validation's, so a client handles both alike."""
    return problem(
        422,
        reason,
        detail,
        errors=[
            {
                "loc": ["body", field],
                "in": "body",
                "pointer": _json_pointer([field]),
                "message": message,
                "type": reason,
            }
        ],
    )


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    """The HTTP response for `problem` answering `request`."""
    return JSONResponse(
        problem.to_dict(instance=request.url.path),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def _json_pointer(parts: Sequence[int | str]) -> str:
    # RFC 6901 escaping, in URI fragment form as in RFC 9457's own example.
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI validation errors as problem `errors` members.

    Each item says where the bad input is (`in`: body, query, path, header or
    cookie; `pointer` into the JSON body, or `parameter` for the others), what is
    wrong (`message`) and pydantic's machine-readable `type`; `loc` is kept raw.
    """
    items: list[dict[str, Any]] = []
    for error in errors:
        loc = [p for p in error.get("loc", ()) if isinstance(p, int | str)]
        item: dict[str, Any] = {"loc": loc, "message": str(error.get("msg", "invalid value"))}
        if error.get("type"):
            item["type"] = error["type"]
        if loc:
            where, *path = loc
            item["in"] = where
            if where == "body":
                item["pointer"] = _json_pointer(path)
            elif path:
                item["parameter"] = str(path[0])
        items.append(item)
    return items


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


def _allowed_methods(request: Request) -> list[str]:
    # Starlette's Allow header names the methods of the first route whose path
    # matches; RFC 9110 wants those of every route at this path.
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and route.methods:
            methods.update(route.methods)
    return sorted(methods)


def _http_exception_problem(request: Request, exc: StarletteHTTPException) -> Problem:
    title = status_title(exc.status_code)
    extra: dict[str, Any] = {}
    # Starlette types `detail` as str, but FastAPI's HTTPException accepts any JSON.
    raw_detail: Any = exc.detail
    if isinstance(raw_detail, str) and raw_detail and raw_detail != title:
        detail = raw_detail
    elif exc.status_code == 404 and "route" not in request.scope:
        # Starlette's router says only "Not Found"; say what was not found.
        detail = f"No route matches {request.method} {request.url.path}."
    elif exc.status_code == 405:
        allowed = ", ".join(_allowed_methods(request))
        headers = {**(exc.headers or {}), "Allow": allowed}
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}."
        return Problem(405, title, detail, headers=headers)
    else:
        detail = title
        if raw_detail is not None and not isinstance(raw_detail, str):
            # A structured detail (dict/list) is kept as data rather than stringified.
            extra["errors"] = jsonable_encoder(raw_detail)
    return Problem(exc.status_code, title, detail, headers=exc.headers, extra=extra)


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)  # noqa: S101 - registered for Problem only
    if exc.status >= 500:
        _logger.error("problem %s on %s: %s", exc.status, request.url.path, exc.detail)
    return problem_response(exc, request)


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    return problem_response(_http_exception_problem(request, exc), request)


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = validation_errors(exc.errors())
    where = ", ".join(e.get("pointer") or e.get("parameter") or "request" for e in errors[:5])
    count = len(errors)
    detail = f"The request has {count} invalid value{'s' if count != 1 else ''}: {where}."
    problem = Problem(422, "Unprocessable Content", detail, extra={"errors": errors})
    return problem_response(problem, request)


def _request_ids(request: Request) -> tuple[str | None, str | None]:
    # This runs outside the request id middleware, so the request id comes from the
    # request's state rather than from the middleware's context.
    return _trace_id(), getattr(request.state, "request_id", None)


def _with_ids(problem: Problem, trace_id: str | None, request_id: str | None) -> Problem:
    """`problem` carrying the ids a client quotes when it reports a server error."""
    if trace_id:
        problem.extra["trace_id"] = trace_id
    if request_id:
        problem.extra["request_id"] = request_id
        problem.headers[REQUEST_ID_HEADER] = request_id
    return problem


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    trace_id, request_id = _request_ids(request)
    # The exception stops here, so the server span would not see it otherwise.
    trace.get_current_span().record_exception(exc)
    # The traceback goes to the log (with the trace id, via the log formatter),
    # never to the client.
    _logger.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id} if request_id else None,
    )
    detail = "The server failed to handle this request."
    if trace_id:
        detail += " It has been logged; quote the trace id when reporting it."
    problem = Problem(500, "Internal Server Error", detail)
    return problem_response(_with_ids(problem, trace_id, request_id), request)


ErrorProblem = Callable[[BaseException], Problem | None]
"""The problem an exception means for the client, or None if it is no known case."""


class _AnsweringMiddleware:
    """Answers the exceptions of the layers inside it that `_answer` knows, before the
    response started, and lets no answered one escape (uvicorn closes the connection
    of any exception that leaves the app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _answer(self, request: Request, exc: Exception) -> JSONResponse | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            # Half a response can only be ended by closing.
            if started:
                raise
            response = await self._answer(Request(scope, receive), exc)
            if response is None:
                raise
            await response(scope, receive, send)


class ProblemMiddleware(_AnsweringMiddleware):
    """Answers the exceptions that `translate` makes a problem of (a dependency's
    outage: `productstore_common.outages`) and re-raises the others.

    Installed inside the metrics middleware (`create_app`), so the RED metrics count
    the problem's status rather than an exception's 500."""

    def __init__(self, app: ASGIApp, translate: ErrorProblem) -> None:
        super().__init__(app)
        self.translate = translate

    async def _answer(self, request: Request, exc: Exception) -> JSONResponse | None:
        problem = self.translate(exc)
        if problem is None:
            return None
        # The exception stops here, so the server span would not see it otherwise.
        trace.get_current_span().record_exception(exc)
        return problem_response(_with_ids(problem, *_request_ids(request)), request)


class UnhandledErrorMiddleware(_AnsweringMiddleware):
    """Answers any exception of the layers inside it with the problem+json 500, and
    lets none escape.

    Starlette's ServerErrorMiddleware sends the 500 and then re-raises, and uvicorn
    closes the connection of any exception that leaves the app. Behind a gateway that
    connection is a kept-alive upstream one carrying other clients' requests: nginx
    answered the next of them with 503. Added as the outermost user middleware (in
    `create_app`), it keeps the connection open. Only an exception after the response
    started is re-raised: half a response can only be ended by closing.
    """

    async def _answer(self, request: Request, exc: Exception) -> JSONResponse | None:
        return await _handle_unexpected(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of `app` as `application/problem+json`.

    Unhandled exceptions are answered by `UnhandledErrorMiddleware`, which the app
    adds outside its other middleware."""
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    # The last resort, should UnhandledErrorMiddleware itself fail: Starlette calls
    # it from ServerErrorMiddleware (which then lets uvicorn close the connection).
    app.add_exception_handler(Exception, _handle_unexpected)
