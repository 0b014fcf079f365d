"""The gateway's config text: limits from options and environment, problem bodies."""

from __future__ import annotations

import json
import re

import pytest

from devstack.components.nginx_conf import GatewayLimits, problem_return, render_config
from devstack.errors import DevstackError


def test_defaults_then_environment_then_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert GatewayLimits.from_context({}) == GatewayLimits(100, 200, "1m")
    monkeypatch.setenv("PRODUCTSTORE_GATEWAY_RATE", "5")
    monkeypatch.setenv("PRODUCTSTORE_GATEWAY_MAX_BODY", "512k")
    assert GatewayLimits.from_context({}) == GatewayLimits(5, 200, "512k")
    options = {"gateway.rate": "1000000", "gateway.burst": "7"}
    assert GatewayLimits.from_context(options) == GatewayLimits(1_000_000, 7, "512k")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gateway.rate": "fast"}, "gateway limits"),
        ({"gateway.rate": "0"}, "out of range"),
        ({"gateway.burst": "-1"}, "out of range"),
        ({"gateway.max_body": "1 GB; evil"}, "is not a size"),
    ],
)
def test_bad_limits_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(DevstackError, match=message):
        GatewayLimits.from_context(options)


def test_problem_return_is_json_with_the_request_id() -> None:
    directive = problem_return(429, "Too Many Requests", "Slow down.")
    match = re.fullmatch(r"return 429 '(.*)\\n';", directive)
    assert match, directive
    assert json.loads(match.group(1)) == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Slow down.",
        "request_id": "$gateway_request_id",
    }


@pytest.mark.parametrize("detail", ["the API's paths", "a \\ backslash"])
def test_problem_return_refuses_what_breaks_nginx_quoting(detail: str) -> None:
    with pytest.raises(ValueError, match="may hold no"):
        problem_return(400, "Bad Request", detail)


def test_render_config_puts_the_limits_in() -> None:
    text = render_config(
        user="",
        prefix="/p",
        routes="/p/routes",
        upstreams="/p/upstreams",
        host="127.0.0.1",
        port=8080,
        limits=GatewayLimits(42, 84, "2m"),
        openapi_file="/p/openapi/openapi.json",
    )
    assert "limit_req_zone $gateway_limit_key zone=gateway:10m rate=42r/s;" in text
    assert "limit_req zone=gateway burst=84 nodelay;" in text
    assert "client_max_body_size 2m;" in text
    assert "include /p/upstreams/*.conf;" in text
    assert "Strict-Transport-Security" not in text
