"""The loader: JSON data from YAML/JSON, with the line:col of every key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret_codegen._frontend import load_document
from leveret_codegen._loader import LoadedDocument, load_file, parse_text

YAML = """\
leveret: 1
types:
  Sku: {type: string, pattern: "^[A-Z]+$"}
  Item:
    type: object
    required: [sku, quantity]
    properties:
      sku: {$ref: "#/types/Sku"}
      quantity:
        type: integer
"""


def _parse(text: str, *, is_json: bool = False) -> LoadedDocument:
    document, diagnostics = parse_text(text, "x.yaml", is_json=is_json)
    assert diagnostics == []
    assert document is not None
    return document


def test_yaml_data_is_plain_json() -> None:
    document = _parse(YAML)
    assert document.data == {
        "leveret": 1,
        "types": {
            "Sku": {"type": "string", "pattern": "^[A-Z]+$"},
            "Item": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {
                    "sku": {"$ref": "#/types/Sku"},
                    "quantity": {"type": "integer"},
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("pointer", "value_at", "key_at"),
    [
        (("leveret",), (1, 10), (1, 1)),
        (("types", "Sku"), (3, 8), (3, 3)),
        (("types", "Sku", "pattern"), (3, 32), (3, 23)),
        (("types", "Item"), (5, 5), (4, 3)),
        (("types", "Item", "required", 1), (6, 21), (6, 21)),  # list items have no key
        (("types", "Item", "properties", "sku", "$ref"), (8, 19), (8, 13)),
        (("types", "Item", "properties", "quantity", "type"), (10, 15), (10, 9)),
    ],
)
def test_yaml_positions_of_keys_and_values(
    pointer: tuple[str | int, ...], value_at: tuple[int, int], key_at: tuple[int, int]
) -> None:
    document = _parse(YAML)
    assert document.position(pointer) == value_at
    assert document.key_position(pointer) == key_at


def test_position_falls_back_to_the_nearest_ancestor() -> None:
    document = _parse(YAML)
    assert document.position(("types", "Item", "properties", "missing", "deeper")) == (8, 7)
    assert document.key_position(("types", "Nope")) == (3, 3)
    assert document.position(()) == (1, 1)


def test_json_positions_with_tabs() -> None:
    text = '{\n\t"leveret": 1,\n\t"types": {"Sku": {"type": "string"}}\n}\n'
    document = _parse(text, is_json=True)
    assert document.data == {"leveret": 1, "types": {"Sku": {"type": "string"}}}
    assert document.key_position(("types",)) == (3, 2)
    assert document.position(("types", "Sku", "type")) == (3, 28)
    assert document.key_position(("types", "Sku")) == (3, 12)


def test_json_syntax_errors_come_from_the_json_parser() -> None:
    document, diagnostics = parse_text('{"a": 1,\n}', "x.json", is_json=True)
    assert document is None
    assert [d.render() for d in diagnostics] == [
        "x.json:2:1: error[LV101]: JSON syntax error: "
        "Expecting property name enclosed in double quotes"
    ]


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("1.4.0", "1.4.0"),
        ("1.4", 1.4),
        ("on", "on"),
        ("yes", "yes"),
        ("No", "No"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-01", "2024-01-01"),
        ("12:30", "12:30"),
        ("0o17", 15),
        ("0x1F", 31),
        ("017", 17),
        ("-3", -3),
        ("1e3", 1000.0),
        (".inf", ".inf"),
        ('"1"', "1"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(scalar: str, value: object) -> None:
    document = _parse(f"v: {scalar}\n")
    assert document.data == {"v": value}


def test_keys_are_the_text_as_written() -> None:
    assert _parse("200: a\ntrue: b\nnull: c\n").data == {"200": "a", "true": "b", "null": "c"}


def test_duplicate_keys_are_reported_at_the_second_key() -> None:
    document, diagnostics = parse_text("a:\n  b: 1\n  b: 2\n", "x.yaml", is_json=False)
    assert document is not None and document.data == {"a": {"b": 1}}
    assert [d.render() for d in diagnostics] == [
        "x.yaml:3:3: error[LV103]: duplicate key 'b'\n"
        "    hint: the first 'b' is at line 2, column 3; remove or rename one of them"
    ]


def test_yaml_syntax_error_position_and_hint() -> None:
    document, diagnostics = parse_text("a: 1\n b: 2\n", "x.yaml", is_json=False)
    assert document is None
    assert len(diagnostics) == 1
    (diagnostic,) = diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.col) == ("LV101", 2, 3)
    assert "mapping values are not allowed" in diagnostic.message
    assert diagnostic.hint.startswith("quote a value")


def test_aliases_expand_and_recursive_ones_are_reported() -> None:
    document = _parse("a: &x {type: string}\nb: *x\n")
    assert document.data == {"a": {"type": "string"}, "b": {"type": "string"}}
    _, diagnostics = parse_text("a: &x [1, *x]\n", "x.yaml", is_json=False)
    assert [d.code for d in diagnostics] == ["LV104"]


def test_empty_file_is_null() -> None:
    assert _parse("# nothing\n").data is None


def test_load_file_reads_utf8_and_names_the_file_as_given(tmp_path: Path) -> None:
    file = tmp_path / "a.yaml"
    file.write_text("leveret: 1\ndescription: café\n", encoding="utf-8")
    document, diagnostics = load_file(file, "defs/a.yaml")
    assert diagnostics == []
    assert document is not None
    assert document.path == "defs/a.yaml"
    assert document.file == file
    assert document.data == {"leveret": 1, "description": "café"}


def test_load_file_reports_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    document, diagnostics = load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert document is None
    assert [(d.code, d.line, d.col) for d in diagnostics] == [("LV100", 0, 0)]
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: caf\xe9\n")
    document, diagnostics = load_file(bad, "bad.yaml")
    assert document is None
    assert [(d.code, d.line, d.col) for d in diagnostics] == [("LV102", 2, 7)]


def test_load_document_adds_metaschema_findings(tmp_path: Path) -> None:
    file = tmp_path / "a.json"
    file.write_text('{"leveret": 1, "version": 2}', encoding="utf-8")
    document, diagnostics = load_document(file, name="a.json")
    assert document is not None
    assert document.data == {"leveret": 1, "version": 2}
    assert [d.render() for d in diagnostics] == [
        "a.json:1:27: error[LV203]: version must be a string, not an integer\n"
        '    hint: quote the value, e.g. "2", so YAML reads it as text'
    ]
