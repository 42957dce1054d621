"""The models stage and reading generated models back (``_models``, ``_render.analyze_models``)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import ir_fixtures
import pytest
from pydantic import ValidationError

from leveret_codegen._diagnostics import Severity
from leveret_codegen._models import generate_models
from leveret_codegen._render import analyze_models, header_for

HEADER = header_for("schemas/inventory.yaml")


@pytest.fixture(scope="module")
def models_source() -> str:
    code, diagnostics = generate_models(ir_fixtures.service(), HEADER)
    assert diagnostics == ()
    assert code is not None
    return code


def _import(source: str, tmp_path: Path, name: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_header_first_and_no_timestamp(models_source: str) -> None:
    assert models_source.startswith(HEADER + "\n")
    assert "timestamp" not in models_source
    assert "datamodel-codegen" not in models_source


def test_option_set_shapes_the_models(models_source: str) -> None:
    # use_type_alias + skip_root_model: named scalars are aliases, not RootModel wrappers.
    assert 'Sku = TypeAliasType("Sku", Annotated[str, Field(pattern=' in models_source.replace(
        "'", '"'
    )
    assert "RootModel" not in models_source
    # use_missing_sentinel + strict_nullable: absent != null.
    assert "note: Annotated[str | MISSING, Field(max_length=200)] = MISSING" in models_source
    assert "reason: str | None = None" in models_source
    # enum_field_as_literal=All
    assert "status: Literal[" in models_source
    # use_field_description + use_attribute_docstrings
    assert "Free text for the warehouse." in models_source
    assert "use_attribute_docstrings=True" in models_source
    # generate_schema_validators is off: it fails mypy --strict.
    assert "_JsonSchemaRuntimeValidationBase" not in models_source


def test_models_validate_like_the_schema(models_source: str, tmp_path: Path) -> None:
    module = _import(models_source, tmp_path, "leveret_test_models")
    request = module.ReserveRequest.model_validate_json(
        '{"sku": "ABC-1234", "quantity": 2}', strict=True
    )
    assert request.model_dump_json(by_alias=True) == '{"sku":"ABC-1234","quantity":2}'
    for bad in (
        '{"sku": "abc", "quantity": 2}',  # pattern
        '{"sku": "ABC-1234", "quantity": 0}',  # minimum
        '{"sku": "ABC-1234", "quantity": 2, "note": null}',  # optional is not nullable
        '{"quantity": 2}',  # required
    ):
        with pytest.raises(ValidationError):
            module.ReserveRequest.model_validate_json(bad, strict=True)
    release = module.ReleaseRequest.model_validate_json(
        '{"id": "5f0c6a5e-8a57-4f39-9a3e-1d6c1f1c2b3a", "class": "x", "reason": null}'
    )
    assert release.class_ == "x"
    assert release.reason is None
    assert release.mode == "soft"


def test_dmcg_failure_is_a_diagnostic_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every schema the front end accepts generates since issue 11 (the typing schema dmcg gets
    # is tamed by _guards), so dmcg's failure is simulated: it raises many exception types.
    import datamodel_code_generator

    def crash(*args: object, **kwargs: object) -> str:
        raise KeyError("boolean schema")

    monkeypatch.setattr(datamodel_code_generator, "generate", crash)
    code, diagnostics = generate_models(ir_fixtures.service(), HEADER)
    assert code is None
    [diagnostic] = diagnostics
    assert diagnostic.code == "LV501"
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.file == "schemas/inventory.yaml"
    assert "'shop'" in diagnostic.message


def test_split_into_modules_is_refused() -> None:
    dotted = ir_fixtures.service(defs={"v1.Thing": {"type": "object", "properties": {}}})
    code, diagnostics = generate_models(dotted, HEADER)
    assert code is None
    assert [d.code for d in diagnostics] == ["LV501"]
    assert "several modules" in diagnostics[0].message


def test_analyze_reads_fields_aliases_and_defaults(models_source: str) -> None:
    info = analyze_models(models_source)
    fields = {f.name: f for f in info.classes["ReleaseRequest"]}
    assert list(fields) == ["id", "class_", "reason", "tags", "mode"]
    assert fields["id"].default is None
    assert fields["id"].annotation == "UUID"
    assert fields["class_"].wire_name == "class"
    assert fields["class_"].annotation == "str | MISSING"  # Annotated[...] unwrapped
    assert fields["class_"].default == "MISSING"
    assert fields["reason"].annotation == "str | None"
    assert fields["tags"].default == "[]"
    assert fields["tags"].mutable_default
    assert not fields["mode"].mutable_default
    assert fields["mode"].default in ("'soft'", '"soft"')
    assert info.imports["UUID"] == "from uuid import UUID"
    assert info.imports["MISSING"].endswith("import MISSING")
    assert "Sku" in info.exports and "ReserveRequest" in info.exports
    assert "BaseModel" not in info.exports  # imported, not defined


def test_analyze_merges_inherited_fields() -> None:
    source = """
from pydantic import BaseModel, Field
from typing import Annotated, ClassVar

class Base(BaseModel):
    a: int
    b: str = "x"

class Ext(Base):
    kind: ClassVar[str] = "ext"
    b: Annotated[str, Field(alias="B")] = "y"
    c: Annotated[list[int], Field(default=[1])]
"""
    info = analyze_models(source)
    ext = info.classes["Ext"]
    assert [(f.name, f.wire_name, f.default) for f in ext] == [
        ("a", "a", None),
        ("b", "B", '"y"'),
        ("c", "c", "[1]"),
    ]
    assert ext[2].mutable_default
    assert info.exports == ("Base", "Ext")


def test_schema_text_round_trips_through_json() -> None:
    # models_schema is JSON text; the fixture must stay valid JSON for the front end's contract.
    service = ir_fixtures.service()
    assert set(json.loads(service.models_schema)) == {"$defs"}


INT_LITERALS = {
    "Level": {"type": "integer", "enum": [0, 1, 2]},
    "Holder": {
        "type": "object",
        "required": ["level", "one", "negative", "name"],
        "properties": {
            "level": {"$ref": "#/$defs/Level"},
            "one": {"type": "integer", "const": 1, "description": "Always one."},
            "negative": {"type": "integer", "enum": [-1, 3]},
            "name": {"type": "string", "enum": ["a", "b"]},
            "codes": {"type": "array", "items": {"type": "integer", "enum": [1, 2]}, "maxItems": 3},
        },
    },
}


def test_integer_literals_reject_booleans(tmp_path: Path) -> None:
    # pydantic matches a Literal by equality and True == 1: without the validator, JSON true
    # passes for const 1, even in strict mode (tests/codegen/test_conformance.py found it).
    code, diagnostics = generate_models(ir_fixtures.service(defs=INT_LITERALS), HEADER)
    assert diagnostics == () and code is not None
    assert code.count(", JSON_LITERAL]") == 4  # Level, one, negative, codes items
    assert 'Literal["a", "b"]' in code.replace("'", '"')  # string literals are left alone
    module = _import(code, tmp_path, "leveret_test_int_literals")
    good = {"level": 0, "one": 1, "negative": -1, "name": "a", "codes": [1, 2]}
    assert module.Holder.model_validate_json(json.dumps(good), strict=True).level == 0
    for field, bad in (
        ("level", False),
        ("level", True),
        ("one", True),
        ("negative", True),
        ("codes", [True]),
    ):
        body = json.dumps({**good, field: bad})
        with pytest.raises(ValidationError, match="not a boolean"):
            module.Holder.model_validate_json(body, strict=True)
        with pytest.raises(ValidationError, match="not a boolean"):
            module.Holder(**{**good, field: bad})
    # JSON Schema's equality: 1.0 is the integer 1 of an enum or const (issue 11).
    body = json.dumps({**good, "one": 1.0, "codes": [2.0]})
    holder = module.Holder.model_validate_json(body, strict=True)
    assert (holder.one, holder.codes) == (1, [2]) and type(holder.one) is int


def test_client_signatures_leave_the_models_validators_out() -> None:
    code, _ = generate_models(ir_fixtures.service(defs=INT_LITERALS), HEADER)
    assert code is not None
    fields = {f.name: f for f in analyze_models(code).classes["Holder"]}
    assert fields["level"].annotation == "Level"
    assert fields["one"].annotation == "Literal[1]"
    assert fields["negative"].annotation == "Literal[-1, 3]"
    assert fields["codes"].annotation.startswith("list[Literal[1, 2]]")
    names = {name for f in fields.values() for name in f.names}
    assert not names & {"JSON_LITERAL", "BeforeValidator", "JsonInt", "JSON_INTEGER"}
