"""The free-text rule every service shares: no control, bidi or separator characters."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

from productstore_common.app import create_app
from productstore_common.settings import ServiceSettings
from productstore_common.text import MULTI_LINE, SINGLE_LINE

Line = TypeAdapter(
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), SINGLE_LINE]
)
Prose = TypeAdapter(
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), MULTI_LINE]
)


@pytest.mark.parametrize(
    ("value", "single", "multi"),
    [
        ("Trail runner 2", "Trail runner 2", "Trail runner 2"),
        ("  Кроссовки «Бег»  ", "Кроссовки «Бег»", "Кроссовки «Бег»"),
        ("حذاء الجري", "حذاء الجري", "حذاء الجري"),
        # Joiners are correct spelling (emoji sequences, Indic conjuncts).
        ("👩\u200d💻 क्\u200dष", "👩\u200d💻 क्\u200dष", "👩\u200d💻 क्\u200dष"),
        # Surrounding whitespace goes first, line breaks included.
        ("Boots\n", "Boots", "Boots"),
        ("one\r\n\ttwo", None, "one\n\ttwo"),
        ("one\ntwo", None, "one\ntwo"),
        ("a\x00b", None, None),
        ("a\x07b", None, None),
        ("a\x1b[2Jb", None, None),
        ("a\x7fb", None, None),
        ("a\x85b", None, None),
        ("a\x9bb", None, None),
        ("a\rb", None, None),
        ("a\x0bb", None, None),
        ("a\tb", None, "a\tb"),
        ("a\u2028b", None, "a\u2028b"),
        *((f"a{c}b", None, None) for c in "\u202a\u202b\u202c\u202d\u202e"),
        *((f"a{c}b", None, None) for c in "\u2066\u2067\u2068\u2069\u200e\u200f\u061c"),
    ],
)
def test_what_each_rule_keeps_and_refuses(
    value: str, single: str | None, multi: str | None
) -> None:
    for adapter, expected in ((Line, single), (Prose, multi)):
        if expected is None:
            with pytest.raises(ValidationError) as caught:
                adapter.validate_python(value)
            (error,) = caught.value.errors()
            assert error["type"] == "unsafe_text"
            assert "U+" in error["msg"]
            assert "position" in error["msg"]
        else:
            assert adapter.validate_python(value) == expected


class _Body(BaseModel):
    name: Annotated[str, StringConstraints(max_length=100), SINGLE_LINE]


def test_a_refusal_is_problem_json_naming_the_field() -> None:
    app: FastAPI = create_app(ServiceSettings(service_name="texttest"), title="t", version="0")

    @app.post("/things")
    async def things(body: _Body) -> dict[str, str]:
        return {"name": body.name}

    with TestClient(app) as client:
        response = client.post("/things", json={"name": "evil\u202etxt.exe"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["pointer"] == "#/name"
    assert error["type"] == "unsafe_text"
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in error["message"]
    assert "position 5" in error["message"]
