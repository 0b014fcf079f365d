"""OpenAPI that tells the truth about errors: problem+json, not FastAPI's default.

FastAPI documents a 422 `HTTPValidationError` in `application/json`, but our
handlers answer `application/problem+json` (see `errors`). Clients generated from
the document, and schemathesis checking responses against it, must see the real
shape, so every operation's 422 and a `default` response point to `Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from productstore_common.errors import PROBLEM_CONTENT_TYPE

_SCHEMA_REF = "#/components/schemas/{model}"
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


class InvalidParam(BaseModel):
    """One invalid value in a request."""

    loc: list[str | int] = Field(description="Where the value is, as FastAPI reports it.")
    message: str = Field(description="What is wrong with it.")
    type: str | None = Field(default=None, description="Machine-readable error type.")
    in_: str | None = Field(
        default=None, alias="in", description="body, query, path, header or cookie."
    )
    pointer: str | None = Field(default=None, description="JSON Pointer into the body.")
    parameter: str | None = Field(default=None, description="Name of the bad parameter.")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem; services may add extension members."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI identifying the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence, for a human.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[InvalidParam] | None = Field(
        default=None, description="Invalid values, on 422 responses."
    )


# What each status usually means; a service passes its own for the rest or to differ.
PROBLEM_DESCRIPTIONS: Mapping[int, str] = {
    401: "Missing, invalid or expired credentials",
    403: "Authenticated, but not allowed",
    404: "No such resource",
    409: "Conflicts with the current state",
    412: "If-Match does not match the current version (ETag)",
    422: "Invalid body, query or path parameter (`errors` lists each)",
    429: "Too many attempts; see Retry-After",
    503: "A dependency is unavailable; see Retry-After",
}


def problems(
    *statuses: int, descriptions: Mapping[int, str] | None = None, **overrides: str
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as a problem.

    A description comes from `overrides` (`s409="The slug is taken"`), then the
    service's `descriptions`, then PROBLEM_DESCRIPTIONS.
    """
    table = {**PROBLEM_DESCRIPTIONS, **(descriptions or {}), **_by_status(overrides)}
    missing = [status for status in statuses if status not in table]
    if missing:
        raise KeyError(f"no description for status {missing}: pass s<status>= or descriptions=")
    return {status: _problem_response(table[status]) for status in statuses}


def _by_status(overrides: Mapping[str, str]) -> dict[int, str]:
    """`s409="..."` keyword arguments as {409: "..."}."""
    return {int(name[1:]): text for name, text in overrides.items()}


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _SCHEMA_REF.format(model="ProblemDetails")}}
        },
    }


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an OpenAPI document (in place) so every error is a problem."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = _problem_response("Invalid request (RFC 9457 problem)")
            responses.setdefault("default", _problem_response("Error (RFC 9457 problem)"))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)
    problem_schema = ProblemDetails.model_json_schema(
        ref_template=_SCHEMA_REF, by_alias=True, mode="serialization"
    )
    components.update(problem_schema.pop("$defs", {}))
    components["ProblemDetails"] = problem_schema
    return schema


def install_problem_openapi(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document describe its problem+json errors."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
