"""Every failure is an RFC 9457 problem+json with a detail a client can act on."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from productstore_common.errors import PROBLEM_CONTENT_TYPE, Problem, validation_errors
from tests.common.tinyapp import build_app, capture_spans, http_exchange, serve, uvicorn_process

pytestmark = pytest.mark.anyio


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["title"]
    assert body["detail"]
    return body


async def test_unknown_route_is_404_naming_the_path() -> None:
    async with serve(build_app()) as client:
        body = problem(await client.get("/api/nothing/here"), 404)
    assert body["type"] == "about:blank"
    assert body["title"] == "Not Found"
    assert body["detail"] == "No route matches GET /api/nothing/here."


async def test_wrong_method_is_405_listing_allowed_methods() -> None:
    async with serve(build_app()) as client:
        response = await client.patch("/api/things/3")
    body = problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET, PUT"
    assert body["detail"] == "PATCH is not allowed on /api/things/3; allowed: DELETE, GET, PUT."


async def test_invalid_body_is_422_with_json_pointers() -> None:
    async with serve(build_app()) as client:
        response = await client.post(
            "/api/things", json={"name": "", "price": -1, "tags": ["ok", 7]}
        )
    body = problem(response, 422)
    assert body["detail"] == "The request has 3 invalid values: #/name, #/price, #/tags/1."
    by_pointer = {error["pointer"]: error for error in body["errors"]}
    assert set(by_pointer) == {"#/name", "#/price", "#/tags/1"}
    assert by_pointer["#/price"] == {
        "loc": ["body", "price"],
        "in": "body",
        "pointer": "#/price",
        "message": "Input should be greater than 0",
        "type": "greater_than",
    }
    assert by_pointer["#/name"]["type"] == "string_too_short"


async def test_body_that_is_not_json_is_422() -> None:
    async with serve(build_app()) as client:
        response = await client.post(
            "/api/things", content=b"{not json", headers={"content-type": "application/json"}
        )
    body = problem(response, 422)
    assert body["errors"][0]["in"] == "body"
    assert body["errors"][0]["type"] == "json_invalid"


async def test_invalid_query_and_path_parameters_are_named() -> None:
    async with serve(build_app()) as client:
        query = problem(await client.get("/api/things", params={"limit": 1000}), 422)
        path = problem(await client.get("/api/things/abc"), 422)
    assert query["errors"][0]["in"] == "query"
    assert query["errors"][0]["parameter"] == "limit"
    assert query["detail"] == "The request has 1 invalid value: limit."
    assert path["errors"][0]["in"] == "path"
    assert path["errors"][0]["parameter"] == "thing_id"


async def test_problem_raised_in_a_route() -> None:
    async with serve(build_app()) as client:
        response = await client.post("/api/things/5/buy")
    body = problem(response, 409)
    assert body == {
        "type": "https://productstore.io/problems/out-of-stock",
        "title": "Out of stock",
        "status": 409,
        "detail": "Thing 5 is out of stock.",
        "instance": "/api/things/5/buy",
        "available": 0,
    }
    assert response.headers["retry-after"] == "30"


async def test_http_exception_keeps_its_detail() -> None:
    async with serve(build_app()) as client:
        body = problem(await client.delete("/api/things/3"), 403)
        structured = problem(await client.put("/api/things/3"), 400)
    assert body["title"] == "Forbidden"
    assert body["detail"] == "Only admins delete things."
    assert structured["detail"] == "Bad Request"
    assert structured["errors"] == {"reason": "frozen", "thing": 3}


async def test_unhandled_exception_is_500_without_internals() -> None:
    app = build_app()
    spans = capture_spans(app)
    async with serve(app) as client:
        response = await client.get("/api/things/3/crash")
    body = problem(response, 500)
    assert set(body) == {"type", "title", "status", "detail", "instance", "trace_id", "request_id"}
    assert body["title"] == "Internal Server Error"
    assert "trace id" in body["detail"]
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret internals", ".py"):
        assert leak not in response.text
    assert len(body["trace_id"]) == 32
    assert response.headers["x-request-id"] == body["request_id"]
    assert response.headers["traceresponse"].split("-")[1] == body["trace_id"]
    # The exception is answered inside the app, and still recorded on the server span.
    (server,) = [span for span in spans.get_finished_spans() if span.name.endswith("/crash")]
    assert [event.name for event in server.events] == ["exception"]


@pytest.mark.parametrize("repeat", [1, 3])
def test_an_unhandled_exception_keeps_the_connection_open(repeat: int) -> None:
    """Behind a gateway a kept-alive connection carries many clients' requests: one
    client's 500 must not close it, or the gateway answers the next client with 503.
    uvicorn closes a connection whenever an exception escapes the app, even after the
    500 was sent, so the app must answer it without letting the exception out."""
    with uvicorn_process() as served:
        address = urlsplit(served.url)
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            for _ in range(repeat):
                status, headers, body = http_exchange(sock, "/api/things/3/crash")
                assert status == 500
                assert headers["content-type"] == PROBLEM_CONTENT_TYPE
                assert "connection" not in headers  # not "close"
                assert json.loads(body)["title"] == "Internal Server Error"
                after, _, thing = http_exchange(sock, "/api/things/4")
                assert after == 200
                assert json.loads(thing)["id"] == 4
    assert "hunter2" in served.stdout  # the traceback went to the log, once per crash
    assert served.stdout.count("unhandled RuntimeError on GET /api/things/3/crash") == repeat


def test_problem_refuses_a_non_error_status() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        Problem(200, "OK", "fine")


def test_problem_extra_cannot_redefine_standard_members() -> None:
    with pytest.raises(ValueError, match=r"\['status'\]"):
        Problem(400, "Bad Request", "no", extra={"status": 200})


def test_problem_to_dict() -> None:
    raised = Problem(
        429, "Too Many Requests", "Slow down.", headers={"Retry-After": "5"}, extra={"limit": 10}
    )
    assert raised.to_dict("/api/auth/login") == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Slow down.",
        "instance": "/api/auth/login",
        "limit": 10,
    }
    assert raised.headers == {"Retry-After": "5"}
    assert str(raised) == "429 Too Many Requests: Slow down."


def test_json_pointer_escaping() -> None:
    errors = validation_errors(
        [{"loc": ("body", "attributes", "a/b", "c~d"), "msg": "bad", "type": "x"}]
    )
    assert errors[0]["pointer"] == "#/attributes/a~1b/c~0d"


async def test_openapi_documents_problems() -> None:
    async with serve(build_app()) as client:
        document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert {"title", "status", "detail"} <= set(schemas["ProblemDetails"]["required"])
    create = document["paths"]["/api/things"]["post"]["responses"]
    problem_ref = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    assert create["422"]["content"] == {PROBLEM_CONTENT_TYPE: problem_ref}
    assert create["default"]["content"] == {PROBLEM_CONTENT_TYPE: problem_ref}
    assert "in" in schemas["InvalidParam"]["properties"]
    assert document["paths"]["/api/things/{thing_id}"]["get"]["responses"]["200"]
