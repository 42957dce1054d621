"""``leveret.schema``: what generated models use to mean exactly what their schema says (issue 11).

The generated code that uses these is covered end to end by tests/codegen/test_conformance.py
and tests/integration/test_schema_keywords.py; here each piece is pinned on its own.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import pytest
from pydantic import MISSING, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from leveret._codec import validation_details
from leveret._schema import compile_schema
from leveret.schema import (
    JSON_DATE,
    JSON_DATE_TIME,
    JSON_INTEGER,
    JSON_LITERAL,
    JSON_UUID,
    JsonInt,
    SchemaGuard,
)

_SCHEMA = SchemaGuard(
    checks={
        "Order": {"properties": {"tags": {"uniqueItems": True}}},
        "Names": {"uniqueItems": True, "items": {"$ref": "#/$defs/Name"}},
    },
    defs={"Name": {"type": "string", "not": {"const": "root"}}},
)


class Numbers(BaseModel):
    plain: JsonInt | None = None
    bounded: Annotated[int, Field(ge=0), JSON_INTEGER] | None = None
    items: list[JsonInt] | None = None
    one: Annotated[Literal[1, 2], JSON_LITERAL] | None = None


class Dated(BaseModel):
    at: Annotated[AwareDatetime, JSON_DATE_TIME] | None = None
    day: Annotated[datetime.date, JSON_DATE] | None = None
    id: Annotated[uuid.UUID, JSON_UUID] | None = None


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: list[str] | MISSING = MISSING
    when: Annotated[AwareDatetime, JSON_DATE_TIME] | MISSING = MISSING
    _leveret_schema = _SCHEMA.model_validator("Order")


def _errors(model: type[BaseModel], body: str) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(body, strict=True)
    return validation_details(caught.value)


def test_an_integer_accepts_json_one_point_zero_and_gives_an_int() -> None:
    numbers = Numbers.model_validate_json(
        '{"plain": 1.0, "bounded": 2.0, "items": [3.0, 4], "one": 1.0}', strict=True
    )
    assert (numbers.plain, numbers.bounded, numbers.items, numbers.one) == (1, 2, [3, 4], 1)
    assert all(type(v) is int for v in (numbers.plain, numbers.bounded, *(numbers.items or ())))
    big = Numbers.model_validate_json('{"plain": 1e20}', strict=True).plain
    assert big == 10**20 and type(big) is int


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        ('{"plain": 1.5}', ["plain"], "fractional part"),
        ('{"plain": "1"}', ["plain"], "valid integer"),
        ('{"plain": true}', ["plain"], "valid integer"),
        ('{"bounded": -1}', ["bounded"], "greater than or equal to 0"),
        ('{"bounded": -1.0}', ["bounded"], "greater than or equal to 0"),
        ('{"items": [1, 2.5]}', ["items", "1"], "fractional part"),
        ('{"one": true}', ["one"], "not a boolean"),
        ('{"one": 3.0}', ["one"], "Input should be 1 or 2"),
    ],
)
def test_integer_errors_read_as_one_error_without_union_branches(
    body: str, loc: list[str], says: str
) -> None:
    [error] = _errors(Numbers, body)
    assert error["loc"] == loc
    assert says in error["msg"]


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("at", "2020-02-29T23:59:59.25-05:30", "2020-02-29T23:59"),
        ("at", "2020-01-01t00:00:00z", "2020-01-01T00:00:00"),  # RFC 3339 needs an offset
        ("day", "2020-02-29", "2021-02-29"),
        ("day", "2020-01-01", "20200101"),
        ("id", "2d0f3a5e-4b7c-4e1a-9f3d-6c2b1a0e9d8f", "2d0f3a5e4b7c4e1a9f3d6c2b1a0e9d8f"),
        (
            "id",
            "2D0F3A5E-4B7C-4E1A-9F3D-6C2B1A0E9D8F",
            "urn:uuid:2d0f3a5e-4b7c-4e1a-9f3d-6c2b1a0e9d8f",
        ),
    ],
)
def test_formats_are_checked_exactly_before_parsing(field: str, good: str, bad: str) -> None:
    parsed = getattr(Dated.model_validate_json(f'{{"{field}": "{good}"}}', strict=True), field)
    assert isinstance(parsed, datetime.date | uuid.UUID)
    [error] = _errors(Dated, f'{{"{field}": "{bad}"}}')
    assert error["loc"] == [field] and "valid" in error["msg"]


def test_a_leap_second_is_refused_saying_why() -> None:
    [error] = _errors(Dated, '{"at": "1998-12-31T23:59:60Z"}')
    assert "cannot represent" in error["msg"]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("2026-01-01T00:00:00.1234567Z", 7), ("1985-04-12T00:59:59.999999999999999+01:00", 15)],
)
def test_a_date_time_finer_than_microseconds_is_refused_saying_why(text: str, digits: int) -> None:
    # before: cut to microseconds (two instants a nanosecond apart became equal)
    [error] = _errors(Dated, f'{{"at": "{text}"}}')
    assert error["loc"] == ["at"]
    assert "cannot represent" in error["msg"]
    assert f"with {digits} digits" in error["msg"] and "send at most 6" in error["msg"]
    with pytest.raises(ValidationError, match="send at most 6"):
        Dated.model_validate({"at": text})  # from Python too (a string, or after a guard)
    six = Dated.model_validate_json('{"at": "2026-01-01T00:00:00.123456Z"}', strict=True)
    assert six.at == datetime.datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=datetime.UTC)
    # where the text is kept (an untyped place), the format check accepts it, as a leap second
    assert compile_schema({"type": "string", "format": "date-time"}).is_valid(text)


def test_formats_from_python_take_the_object_or_its_exact_string() -> None:
    when = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    assert Dated(at=when).at == when
    assert Dated.model_validate({"at": "2020-01-01T00:00:00Z"}).at == when
    with pytest.raises(ValidationError, match="valid date-time"):
        Dated.model_validate({"at": "2020-01-01 00:00"})


def test_a_guard_checks_a_class_from_json_and_from_python() -> None:
    assert Order.model_validate_json(
        '{"tags": ["a", "b"], "when": "2020-01-01T00:00:00Z"}', strict=True
    ).tags == ["a", "b"]
    [error] = _errors(Order, '{"tags": ["a", "a"]}')
    assert error == {
        "loc": [],
        "msg": "tags: items 0 and 1 are equal (uniqueItems)",
        "type": "json_schema",
    }
    with pytest.raises(ValidationError, match="uniqueItems"):
        Order(tags=["x", "x"])
    # A caller's values: MISSING is no value, a datetime is checked as its string.
    order = Order.model_validate({"tags": ["x"], "when": datetime.datetime.now(datetime.UTC)})
    assert Order.model_validate(order) is order  # validated when it was made


def test_a_guard_on_an_alias_follows_references_into_defs() -> None:
    from pydantic import TypeAdapter

    names = TypeAdapter(Annotated[list[str], _SCHEMA.before("Names")])
    assert names.validate_json('["a", "b"]', strict=True) == ["a", "b"]
    with pytest.raises(ValidationError, match=r"1: matches a schema it must not match \(not\)"):
        names.validate_json('["a", "root"]', strict=True)
    with pytest.raises(ValidationError, match=r"uniqueItems"):
        names.validate_python(["a", "a"])


def test_a_guard_lists_ten_failures_and_counts_the_rest() -> None:
    guard = SchemaGuard(checks={"T": {"items": {"type": "string"}}}, defs={})
    from pydantic import TypeAdapter

    adapter = TypeAdapter(Annotated[list[Any], guard.before("T")])
    with pytest.raises(ValidationError) as caught:
        adapter.validate_json("[" + ",".join(["1"] * 25) + "]", strict=True)
    message = caught.value.errors()[0]["msg"]
    assert message.count("(type)") == 10 and message.endswith("... and 15 more")
