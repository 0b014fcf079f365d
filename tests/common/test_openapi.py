from __future__ import annotations

import pytest

from productstore_common.errors import PROBLEM_CONTENT_TYPE
from productstore_common.openapi import PROBLEM_DESCRIPTIONS, problems


def test_problems_take_descriptions_from_overrides_then_service_then_defaults() -> None:
    responses = problems(
        400, 404, 409, descriptions={400: "Bad cursor", 404: "No such cart"}, s409="Taken"
    )
    assert list(responses) == [400, 404, 409]
    assert {status: entry["description"] for status, entry in responses.items()} == {
        400: "Bad cursor",
        404: "No such cart",
        409: "Taken",
    }
    assert responses[400]["content"] == {
        PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    }
    assert problems(503)[503]["description"] == PROBLEM_DESCRIPTIONS[503]


def test_a_status_without_a_default_takes_its_override_alone() -> None:
    # 400 has no default description: the override is enough (it used to raise KeyError).
    assert problems(400, s400="A cursor this API did not issue")[400]["description"] == (
        "A cursor this API did not issue"
    )


def test_a_status_described_nowhere_is_refused_by_name() -> None:
    with pytest.raises(KeyError, match=r"no description for status \[418\]"):
        problems(418)
