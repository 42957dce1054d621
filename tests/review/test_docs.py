"""``leveret docs``: the Markdown reference, its examples, and the command.

The pages of ``schemas/`` are golden files in ``tests/review/golden/``; after an intended change,
rewrite them with ``LEVERET_UPDATE_GOLDEN=1 pytest tests/review`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from leveret._cli import main
from leveret_codegen._docs import (
    EXAMPLE_CODE,
    _Anchors,
    _cell,
    code,
    docs_file_name,
    render_docs,
    service_examples,
)
from leveret_codegen._examples import (
    ExampleError,
    example_for,
    format_checker,
    sample_pattern,
)
from leveret_codegen._frontend import load_services
from leveret_codegen._ir import ServiceDef

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("LEVERET_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _services() -> tuple[ServiceDef, ...]:
    services, diagnostics = load_services(["schemas"])
    assert services, diagnostics
    return services


def _by_package(package: str) -> ServiceDef:
    return next(s for s in _services() if s.package == package)


def _defs(service: ServiceDef) -> dict[str, Any]:
    defs: dict[str, Any] = json.loads(service.models_schema)["$defs"]
    return defs


def _assert_valid(value: Any, type_name: str, defs: dict[str, Any]) -> None:
    schema = {"$defs": defs, "$ref": f"#/$defs/{type_name}"}
    validator = Draft202012Validator(schema, format_checker=format_checker())
    errors = [e.message for e in validator.iter_errors(value)]
    assert errors == [], f"{type_name}: {value!r}"


# --- golden pages --------------------------------------------------------------------------


@pytest.mark.parametrize("package", ["calculator", "shop", "library"])
def test_page_matches_golden(package: str) -> None:
    service = _by_package(package)
    text, diagnostics = render_docs(service)
    assert diagnostics == ()
    assert text is not None
    golden = GOLDEN / docs_file_name(service)
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), "run with LEVERET_UPDATE_GOLDEN=1 to create the golden file"
    assert text == golden.read_text(encoding="utf-8")


def test_page_is_deterministic() -> None:
    first = [render_docs(s)[0] for s in _services()]
    second = [render_docs(s)[0] for s in load_services(["schemas"])[0]]
    assert first == second


def test_every_link_has_a_heading() -> None:
    for service in _services():
        text = render_docs(service)[0]
        assert text is not None
        anchors = _Anchors()
        for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
            anchors.add("h", heading, heading)
        targets = set(anchors.of.values())
        links = set(re.findall(r"\]\(#([^)]+)\)", text))
        assert links, service.package
        assert links <= targets, (service.package, links - targets)


def test_page_shows_every_method_property_and_error() -> None:
    service = _by_package("library")
    text = render_docs(service)[0]
    assert text is not None
    for method in service.methods:
        assert f"### `{method.name}`" in text
    for error in service.errors:
        assert f"### `{error.name}`" in text
        assert f"`{error.status}`" in text
    for name, schema in _defs(service).items():
        for prop in schema.get("properties", {}):
            assert f"| `{prop}` |" in text, (name, prop)
    assert (
        "| `limit` | integer | no | ≥ 1, ≤ 100, default `20` | The most books to return. |" in text
    )
    assert "| `cursor` | string \\| null | no |" in text
    assert "**Timeout:** none: callers wait until a reply comes" in text


# --- examples ------------------------------------------------------------------------------


def test_examples_of_every_definition_validate() -> None:
    for service in _services():
        examples, diagnostics = service_examples(service)
        assert diagnostics == ()
        defs = _defs(service)
        for method in service.methods:
            pair = examples.methods[method.name]
            _assert_valid(pair.request, method.request_type, defs)
            _assert_valid(pair.reply, method.response_type, defs)
        for error in service.errors:
            body = examples.errors[error.name]
            assert body["code"] == error.status and body["error"] == error.name
            if error.details_type is None:
                assert body["details"] is None
            else:
                _assert_valid(body["details"], error.details_type, defs)


def test_examples_in_the_page_are_the_validated_ones() -> None:
    for service in _services():
        text = render_docs(service)[0]
        assert text is not None
        blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", text, flags=re.S)]
        examples = service_examples(service)[0]
        expected: list[Any] = []
        for method in service.methods:
            expected += [examples.methods[method.name].request, examples.methods[method.name].reply]
        expected += [examples.errors[e.name] for e in service.errors]
        assert blocks == expected


def test_examples_use_examples_default_enum_format_and_pattern() -> None:
    defs = {"Code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"}}
    schema = {
        "type": "object",
        "properties": {
            "given": {"type": "string", "examples": ["from the schema"]},
            "defaulted": {"type": "integer", "minimum": 0, "default": 7},
            "choice": {"type": "string", "enum": ["b", "a"]},
            "when": {"type": "string", "format": "date-time"},
            "code": {"$ref": "#/$defs/Code"},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "step": {"type": "integer", "minimum": 1, "multipleOf": 5},
            "maybe": {"type": ["null", "boolean"]},
            "map": {"type": "object", "additionalProperties": {"type": "integer"}},
            "list": {"type": "array", "minItems": 2, "items": {"const": "x"}},
        },
    }
    assert example_for(schema, defs) == {
        "given": "from the schema",
        "defaulted": 7,
        "choice": "b",
        "when": "2024-05-17T09:30:00Z",
        "code": "AA000",
        "ratio": 0.5,
        "step": 5,
        "maybe": True,
        "map": {"key": 1},
        "list": ["x", "x"],
    }


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("^[A-Z]{3}-[0-9]{4}$", "AAA-0000"),
        ("^97[89][0-9]{10}$", "9780000000000"),
        (r"^\d+(\.\d+)?$", "0"),
        ("^(red|green)$", "red"),
        ("^[^a]b$", "bb"),
        ("^[^a-z]b$", "Ab"),
        (r"^\w+@\w+$", "a@a"),
    ],
)
def test_sample_pattern(pattern: str, expected: str) -> None:
    assert sample_pattern(pattern) == expected
    assert re.search(pattern, expected)


def test_example_that_cannot_validate_raises() -> None:
    with pytest.raises(ExampleError, match="is too long"):
        example_for({"type": "string", "maxLength": 2, "examples": ["long"]}, {})
    with pytest.raises(ExampleError, match="contains itself"):
        example_for(
            {"$ref": "#/$defs/Node"},
            {
                "Node": {
                    "type": "object",
                    "required": ["next"],
                    "properties": {"next": {"$ref": "#/$defs/Node"}},
                }
            },
        )


def test_format_checker_knows_date_time_and_uri() -> None:
    checker = format_checker()
    assert checker.conforms("2024-05-17T09:30:00+02:00", "date-time")
    assert not checker.conforms("2024-05-17 09:30", "date-time")
    assert not checker.conforms("2024-02-30T09:30:00Z", "date-time")
    assert checker.conforms("2024-05-17T09:30:00.123456Z", "date-time")
    assert not checker.conforms("2024-05-17T09:30:00.1234567Z", "date-time")  # as typed fields
    assert checker.conforms("https://example.com/a?b=c", "uri")
    assert not checker.conforms("not a uri", "uri")


# --- Markdown helpers ----------------------------------------------------------------------


def test_anchors_follow_github_slugs_and_repeats() -> None:
    anchors = _Anchors()
    anchors.add("page", "", "Methods")
    anchors.add("h2", "methods", "Methods")
    anchors.add("method", "get_book", "`get_book`")
    anchors.add("type", "Methods", "`Methods`")
    assert anchors.of == {
        ("page", ""): "methods",
        ("h2", "methods"): "methods-1",
        ("method", "get_book"): "get_book",
        ("type", "Methods"): "methods-2",
    }


def test_cells_and_code_spans_survive_pipes_and_backticks() -> None:
    assert _cell("a | b\nc") == "a \\| b c"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"


# --- failures and the command ----------------------------------------------------------------


_BAD_EXAMPLE = textwrap.dedent(
    """\
    leveret: 1
    package: bad
    service: Bad
    methods:
      ping:
        request:
          type: object
          properties:
            code: {type: string, maxLength: 2, examples: [toolong]}
        response: {type: object}
    """
)


def test_invalid_example_fails_with_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text(_BAD_EXAMPLE, encoding="utf-8")
    assert main(["docs", "bad.yaml", "--out", "out"]) == 1
    err = capsys.readouterr().err
    assert f"bad.yaml:7:7: error[{EXAMPLE_CODE}]: cannot build a valid example request" in err
    assert "'toolong' is too long" in err
    assert "hint: give the schema" in err
    assert "nothing written" in err
    assert not Path("out").exists()


def test_cli_writes_pages_and_checks_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["docs", "schemas", "--out", str(out), "--check"]) == 1
    assert "calculator.md is out of date" in capsys.readouterr().out
    assert main(["docs", "schemas", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out.as_posix()}/shop.md (schemas/inventory.yaml)" in printed
    assert sorted(p.name for p in out.iterdir()) == ["calculator.md", "library.md", "shop.md"]
    assert (out / "shop.md").read_text(encoding="utf-8") == (GOLDEN / "shop.md").read_text(
        encoding="utf-8"
    )
    assert main(["docs", "schemas", "--out", str(out), "--check"]) == 0
    assert "is up to date (3 files)" in capsys.readouterr().out
    assert main(["docs", "schemas", "--out", str(out)]) == 0
    assert "(unchanged)" in capsys.readouterr().out
    (out / "shop.md").write_text("stale\n", encoding="utf-8")
    assert main(["docs", "schemas", "--out", str(out), "--check", "-q"]) == 1
    assert capsys.readouterr().out == f"{out.as_posix()}/shop.md is out of date\n"


def test_cli_without_a_service_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "schemas/common.yaml", "--out", str(tmp_path)]) == 1
    assert "no definition with a service found" in capsys.readouterr().err
    assert main(["docs", "no/such/file.yaml", "--out", str(tmp_path)]) == 1
    assert "error[LV100]" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["docs", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Write a Markdown reference per service definition" in out
    assert "--check" in out and "LV501" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["docs", "schemas"])
    assert exit_info.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_edge_definition_examples_validate() -> None:
    services, diagnostics = load_services(["tests/golden/definitions/edge.yaml"])
    assert services, diagnostics
    text, problems = render_docs(services[0])
    assert problems == () and text is not None
    assert "| `first-name` | string | no |  | A hyphenated property name. |" in text
    assert "No properties; other properties are ignored." in text


def test_every_validation_keyword_is_shown_readably() -> None:
    """The keywords enforced since issue 11 appear in the page: per property (tuples, unique
    items, contains, not, boolean schemas, enum of any JSON value), and the object's own rules
    (property counts and names, patterns, dependencies, if/then/else) under the table."""
    services, diagnostics = load_services(["tests/review/keywords.yaml"])
    assert services, diagnostics
    text, problems = render_docs(services[0])
    assert problems == () and text is not None
    rows = {line.split(" | ")[0].strip("| `"): line for line in text.splitlines()}
    assert 'one of `1`, `null`, `true`, `s`, `[1]`, `{"k": 1}`' in rows["a"]
    assert "| array \\| boolean \\| integer \\| null \\| object \\| string |" in rows["a"]
    assert "| string \\| integer | no | length ≥ 2 |" in rows["b"]
    assert "| array [string, integer] | no | unique items |" in rows["d"]
    assert "contains 2\N{EN DASH}3 item(s) matching string" in rows["e"]
    assert "| any | no | not string |" in rows["f"]
    assert "| one of integer, ≥ 3 |" in rows["g"]
    assert "| nothing (always refused) |" in rows["i"]
    assert "no other properties (`unevaluatedProperties: false`)" in rows["m"]
    assert (
        "Rules: properties: 1\N{EN DASH}12; property names: length ≤ 10; "
        "names matching `^x_`: integer; with `a`: `b` required; with `b`: requires `c`; "
        "if (object, `a`: integer, always `1`, requires `a`) then requires `c` "
        "else not requires `c`."
    ) in text
    assert "| array [any, ...] | no | no other items (`unevaluatedItems: false`) |" in text
