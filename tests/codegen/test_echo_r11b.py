"""Review r11b, findings 3, 4 and 7: the handler gets what was validated, so an echo is valid.

The definition is ``tests/codegen/data/echo_r11b.yaml``. For each of its types:

* 3: properties no field declares are kept (the model's extras, written back) wherever the
  schema reads them: ``minProperties``, ``propertyNames``, ``dependentRequired``, properties an
  ``anyOf``/``if``/``dependentSchemas`` subschema declares, ``uniqueItems`` over objects, an
  object that declares no properties (a map). Before, the model dropped them: ``{"ab": 1}`` came
  out ``{}``, and ``[{"a":1,"x":1},{"a":1,"x":2}]`` came out as two equal items.
* 4: a ``number`` is ``float | int``: ``9007199254740993`` stays that integer, before the
  bounds, ``uniqueItems`` and the handler (it was the float ``9007199254740992.0``); so are the
  values of ``additionalProperties`` beside ``properties`` (the model's typed extras), where an
  ``integer`` also takes ``1.0`` now (a strict ``int`` refused it).
* 7: a ``date-time`` field is typed the same (a datetime) whatever keyword beside it does not
  read it (``not: {required: [x]}`` made it a ``str``).

Verdicts are ``jsonschema``'s (the oracle of ``test_property_vs_jsonschema``), on listed values
and on values Hypothesis draws; every accepted value goes through the echo the wire does:
``model_validate_json`` (strict), ``model_dump_json``, and ``model_validate_json`` again, which
must accept what came out, and what came out must be the value that went in, number types
included.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from leveret_codegen import generate_files
from leveret_codegen._frontend import load_services
from tests.codegen.test_property_vs_jsonschema import EXAMPLES, Case, _instances, _load

ROOT = Path(__file__).resolve().parents[2]
DEFINITION: Final = ROOT / "tests" / "codegen" / "data" / "echo_r11b.yaml"

BIG: Final = 2**53 + 1  # 9007199254740993, not a double


def _cases() -> dict[str, Case]:
    services, diagnostics = load_services([DEFINITION])
    assert services, [d.render() for d in diagnostics]
    (service,) = services
    defs = json.loads(service.models_schema)["$defs"]
    return {name: Case(service.package, name, defs) for name in defs}


CASES: Final = _cases()


@pytest.fixture(scope="module")
def code() -> str:
    result = generate_files([DEFINITION])
    assert result.ok, [d.render() for d in result.diagnostics]
    return result.files["echo_r11b/models.py"]


@pytest.fixture(scope="module")
def models(code: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    path = tmp_path_factory.mktemp("echo-r11b") / "models.py"
    path.write_text(code)
    module = _load(path, "echo_r11b")
    try:
        yield module
    finally:
        sys.modules.pop(module.__name__, None)


class _Echo:
    """The wire's two validations of one type, and the model's writing in between."""

    def __init__(self, target: object) -> None:
        if isinstance(target, type) and issubclass(target, BaseModel):
            model = target
            self.read: Callable[[str], object] = lambda body: model.model_validate_json(
                body, strict=True
            )
            self.write: Callable[[Any], str] = lambda value: value.model_dump_json(by_alias=True)
        else:
            adapter: TypeAdapter[Any] = TypeAdapter(target)
            self.read = lambda body: adapter.validate_json(body, strict=True)
            self.write = lambda value: adapter.dump_json(value, by_alias=True).decode()

    def accepts(self, body: str) -> bool:
        try:
            self.read(body)
        except ValidationError:
            return False
        return True

    def echo(self, body: str) -> str:
        """What the handler's echo of ``body`` puts on the wire; it must validate again."""
        written = self.write(self.read(body))
        self.read(written)  # raises: the echo of a valid value would be INTERNAL
        return written


def _same(a: Any, b: Any, *, exact: bool = False) -> bool:
    """JSON values equal, as Python compares numbers: exactly (``9007199254740993`` is not
    ``9007199254740992.0``), but ``1 == 1.0`` (an ``integer`` field gives the handler ``1`` for
    ``1.0``, as documented). ``exact``: ``1`` is not ``1.0`` either (a ``number``)."""
    typed = exact or isinstance(a, bool) or isinstance(b, bool)
    if typed and type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same(a[k], b[k], exact=exact) for k in a)
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(_same(x, y, exact=exact) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


#: Types whose values keep their number types through the echo: ``number``s.
NUMBERS: Final = {"Num", "NumMax", "NumExMax", "NumMin", "NumBounded", "Nums", "ExtraNumbers"}


#: type -> JSON texts to check (valid and invalid; the oracle says which).
LISTED: Final[dict[str, list[str]]] = {
    "MinProps": ['{"z": 1}', "{}", '{"z": [1, {"y": null}]}'],
    "Plain": ['{"z": 1, "y": "x"}', "{}"],
    "Names": ['{"ab": 1}', '{"abc": 1}', "{}"],
    "DepReq": ['{"a": 1, "b": 2}', '{"a": 1}', '{"b": 2}', '{"a": 1, "b": 2, "c": 3}'],
    "DepSchemas": ['{"a": 1, "b": "x"}', '{"a": 1}', '{"a": 1, "b": 1}', '{"b": 1}'],
    "SubProps": ['{"a": "x", "b": "y"}', '{"c": "z"}', '{"a": "x"}', '{"b": 1}'],
    "IfProps": ['{"k": 1, "x": 0}', '{"k": 1}', '{"k": 2}', '{"x": 0}'],
    "UniqueObjects": [
        '[{"a": 1, "x": 1}, {"a": 1, "x": 2}]',
        '[{"a": 1, "x": 1}, {"a": 1, "x": 1}]',
        '[{"a": 1}, {"a": 1.0}]',
        "[{}, {}]",
    ],
    "MapAnyOf": ['{"n": 1}', '{"a": "x", "n": 2.0}', '{"n": "x"}', "{}", '{"a": "x"}'],
    "Num": [str(BIG), "-" + str(BIG), "1", "1.0", "2.5", "1e2", str(10**30), "true"],
    "NumMax": [str(BIG), str(BIG - 1), str(BIG) + ".0", "1.5"],
    "NumExMax": [str(BIG - 1), str(BIG), str(BIG) + ".0", str(BIG + 1)],
    "NumMin": [str(BIG - 1), str(BIG), str(BIG) + ".0", str(BIG + 1)],
    "NumBounded": ["-2", "-1.5", "-1", "9", "9.999", "10", "10.0", "-1.6"],
    "Nums": [f"[{BIG - 1}, {BIG}]", "[1, 1.0]", f"[{BIG}, {BIG}]", "[0.5, 1]"],
    "ExtraInts": ['{"n": 1.0}', '{"n": 1.5}', '{"n": true}', '{"a": 1, "n": 2}'],
    "ExtraNumbers": [f'{{"n": {BIG}}}', '{"n": -1}', '{"n": 2.5}', '{"n": "x"}', '{"n": 0}'],
    "StampRead": ['{"t": "2020-01-01T00:00:00+00:00"}', '{"t": "2020-01-01T00:00:00Z"}'],
}


def _listed() -> Iterator[Any]:
    for name, bodies in LISTED.items():
        for body in bodies:
            yield pytest.param(name, body, id=f"{name}:{body}")


@pytest.mark.parametrize(("name", "body"), list(_listed()))
def test_listed_values_agree_with_jsonschema_and_echo_unchanged(
    models: ModuleType, name: str, body: str
) -> None:
    check = _Echo(getattr(models, name))
    expected = CASES[name].validator().is_valid(json.loads(body))
    assert check.accepts(body) is expected, f"jsonschema says {expected} for {name} {body}"
    if expected:
        written = check.echo(body)
        exact = name in NUMBERS
        assert _same(json.loads(written), json.loads(body), exact=exact), f"{body} -> {written}"


#: Not drawn (the listed values test them): a datetime is written back in its own form
#: (``+00:00`` as ``Z``, documented); the drawing strategy cannot take a bound that is not a
#: double.
NOT_DRAWN: Final = {"Stamp", "StampNot", "NumExMax", "NumMin", "Body"}


@pytest.mark.parametrize("name", sorted(set(CASES) - NOT_DRAWN))
def test_drawn_values_agree_with_jsonschema_and_echo_unchanged(
    models: ModuleType, name: str
) -> None:
    """Property style: Hypothesis' values (valid ones, their mutations, any JSON)."""
    case = CASES[name]
    check = _Echo(getattr(models, name))
    oracle = case.validator()
    verdicts = {True: 0, False: 0}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def agree(data: st.DataObject) -> None:
        value = data.draw(_instances(case), label="value")
        body = json.dumps(value)
        expected = oracle.is_valid(value)
        verdicts[expected] += 1
        assert check.accepts(body) is expected, f"jsonschema says {expected} for {body}"
        if expected:
            written = check.echo(body)
            exact = name in NUMBERS
            assert _same(json.loads(written), value, exact=exact), f"{body} -> {written}"

    agree()
    assert verdicts[True] and verdicts[False], verdicts


# -- 3: what the model keeps ----------------------------------------------------------------------


def test_an_open_object_nothing_reads_still_ignores_undeclared_properties(
    tmp_path: Path,
) -> None:
    """docs/definition-format.md: without ``additionalProperties: false`` unknown properties are
    ignored, which lets an older worker take a newer client's optional property; that stays so
    where no keyword reads them."""
    definition = tmp_path / "open.yaml"
    definition.write_text(
        "leveret: 1\npackage: open\nservice: Open\nversion: '1'\ntypes:\n"
        "  Open: {type: object, properties: {a: {type: integer}}}\n"
    )
    result = generate_files([definition])
    assert result.ok, [d.render() for d in result.diagnostics]
    (tmp_path / "models.py").write_text(result.files["open/models.py"])
    module = _load(tmp_path / "models.py", "open")
    try:
        value = module.Open.model_validate_json('{"a": 1, "new": 2}', strict=True)
        assert value.model_dump_json() == '{"a":1}'
    finally:
        sys.modules.pop(module.__name__, None)


def test_the_handler_sees_the_undeclared_properties_the_schema_read(models: ModuleType) -> None:
    names = models.Names.model_validate_json('{"ab": 1}', strict=True)
    assert names.model_extra == {"ab": 1}
    sub = models.SubProps.model_validate_json('{"a": "x", "b": "y"}', strict=True)
    assert (sub.a, sub.model_extra) == ("x", {"b": "y"})
    items = TypeAdapter(models.UniqueObjects).validate_json(
        '[{"a": 1, "x": 1}, {"a": 1, "x": 2}]', strict=True
    )
    assert [item.model_extra for item in items] == [{"x": 1}, {"x": 2}]


# -- 4: numbers ------------------------------------------------------------------------------------


def test_number_bounds_are_never_rounded_to_a_double(code: str) -> None:
    # 9007199254740993 as a float bound was 9007199254740992.0: bounds from 2**53 on are the
    # guard's, which compares exactly; smaller ones are exact on both branches
    assert "9007199254740992.0" not in code
    assert '"exclusiveMaximum": 9007199254740993' in code
    assert (
        '"NumBounded", Annotated[float, Field(ge=-1.5, lt=10.0)] | '
        "Annotated[int, Field(ge=-1, le=9)]"
    ) in code


def test_a_python_caller_s_big_integer_is_sent_as_that_integer(models: ModuleType) -> None:
    body = models.Body(num=BIG, nums=[BIG - 1, BIG])
    assert body.model_dump_json(exclude_unset=True) == f'{{"num":{BIG},"nums":[{BIG - 1},{BIG}]}}'
    with pytest.raises(ValidationError):
        models.Body.model_validate({"num": True}, strict=True)  # a bool is not a number


# -- 7: date-time typing -----------------------------------------------------------------------


def test_a_date_time_is_typed_alike_whatever_unrelated_keyword_is_beside_it(
    models: ModuleType,
) -> None:
    body = '{"t": "2020-01-01T00:00:00+01:00"}'
    plain = models.Stamp.model_validate_json(body, strict=True).t
    beside_not = models.StampNot.model_validate_json(body, strict=True).t
    assert isinstance(plain, datetime.datetime) and isinstance(beside_not, datetime.datetime)
    assert plain == beside_not
    # so the verdicts match too: both refuse a leap second, which a datetime cannot hold
    leap = '{"t": "2016-12-31T23:59:60Z"}'
    for model in (models.Stamp, models.StampNot):
        with pytest.raises(ValidationError, match="cannot represent"):
            model.model_validate_json(leap, strict=True)
    # a keyword that reads the text keeps it the string that was sent
    read = models.StampRead.model_validate_json('{"t": "2020-01-01T00:00:00Z"}', strict=True)
    assert read.t == "2020-01-01T00:00:00Z"
