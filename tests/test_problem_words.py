"""One wording of pydantic's errors everywhere: ``infra.config.errors.pydantic_problem``.

Stack files, ``new-team``'s options and the tooling's own documents (plan.json, summary.json) all report a
value of the wrong shape as ``expected ...; found ...``. These errors come from real pydantic models, so a
pydantic upgrade that changes its error types or messages shows up here, not in a user's terminal.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from infra.config.errors import pydantic_problem

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB\n-----END OPENSSH PRIVATE KEY-----"


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    model_config = ConfigDict(strict=True)
    x: int


class Shape(BaseModel):
    model_config = ConfigDict(strict=True)
    count: int = 1
    ratio: float = 1.0
    flag: bool = False
    name: str = "n"
    items: list[int] = []
    inner: Inner | None = None
    table: dict[str, int] = {}
    positive: int = Field(1, gt=0)
    small: int = Field(1, le=10)
    short: str = Field("s", max_length=3)
    few: list[int] = Field([], max_length=1)
    colour: Colour = Colour.RED
    env: Literal["dev", "prod"] = "dev"
    required: str
    checked: str = "ok"
    code: str = Field("A", pattern=r"^[A-Z]+$")
    asserted: int = 1

    @field_validator("asserted")
    @classmethod
    def _asserted(cls, value: int) -> int:
        assert value < 5, "at most 4"
        return value

    @field_validator("checked")
    @classmethod
    def _checked(cls, value: str) -> str:
        if value != "ok":
            raise ValueError("expected 'ok'")
        return value


def problem_of(field: str, value: object, **kwargs: object) -> str:
    data = {"required": "r", field: value}
    with pytest.raises(ValidationError) as info:
        # An enum from JSON text (plan documents) is checked in lax mode; strict mode wants the instance.
        Shape.model_validate(data, strict=False if field == "colour" else None)
    (error,) = [e for e in info.value.errors(include_url=False) if e["loc"][0] == field]
    return pydantic_problem(error, **kwargs)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("count", "three", "expected a whole number; found 'three'"),
    ("ratio", "x", "expected a number; found 'x'"),
    ("flag", "yes", "expected true or false; found 'yes'"),
    ("name", ["x"], "expected a string; found ['x']"),
    ("items", "all", "expected a list; found 'all'"),
    ("inner", 5, "expected a mapping; found 5"),
    ("table", [1], "expected a mapping; found [1]"),
    ("positive", 0, "expected a number greater than 0; found 0"),
    ("small", 11, "expected a number less than or equal to 10; found 11"),
    ("short", "long", "expected text of at most 3 characters; found 'long'"),
    ("few", [1, 2], "expected a list of at most 1 item after validation, not 2; found [1, 2]"),
    ("colour", "green", "expected one of 'red' or 'blue'; found 'green'"),
    ("env", "qa", "expected 'dev' or 'prod'; found 'qa'"),
    ("checked", "bad", "expected 'ok'; found 'bad'"),
    ("code", "x", "expected text matching pattern '^[A-Z]+$'; found 'x'"),
])
def test_each_kind_of_problem_reads_expected_then_found(field, value, words):
    assert problem_of(field, value) == words


def test_a_missing_key_says_so():
    with pytest.raises(ValidationError) as info:
        Shape.model_validate({})
    assert pydantic_problem(info.value.errors(include_url=False)[0]) == "required key is missing"


def test_json_documents_call_a_mapping_an_object():
    """The same problem in the reader's format: YAML's mapping is JSON's object."""
    assert problem_of("inner", 5, mapping="an object") == "expected an object; found 5"
    assert problem_of("count", "x", mapping="an object") == "expected a whole number; found 'x'"


def test_key_material_is_never_echoed():
    text = problem_of("count", KEY)
    assert text.startswith("expected a whole number; found ") and "PRIVATE KEY" in text.upper()
    assert "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in text


def test_a_validator_that_names_what_it_found_is_not_told_twice():
    assert pydantic_problem({"type": "value_error", "msg": "Value error, expected x; found 'y'", "input": "y"}) \
        == "expected x; found 'y'"


def test_a_message_of_another_shape_keeps_its_words_and_names_the_value():
    text = problem_of("asserted", 7)
    assert text.startswith("Assertion failed, at most 4") and text.endswith("; found 7"), text
    assert not text.startswith("expected")
