"""Definitions nested too deeply get LV105 at a place in the file, in every command (issue 15 F10).

Three shapes used to end in a RecursionError traceback: a chain of types each holding the next
(``breaking`` and ``lint``), inline objects nested in each other (``generate``, inside
jsonschema) and YAML flow lists nested in each other (inside PyYAML). One limit,
``MAX_NESTING`` levels of mappings and lists counted through ``$ref``
(docs/definition-format.md, "Limits"), applies to all of them; the definitions are generated
here, at the sizes that crashed and at the limit itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from leveret._cli import main
from leveret_codegen._frontend import load_services
from leveret_codegen._loader import MAX_NESTING

_HEAD = "leveret: 1\npackage: deep\nservice: Deep\ndescription: Deep.\n"
_METHOD = (
    "  get:\n    description: Get.\n    request: {request}\n    response: {{type: object}}\n"
    "    timeout: 5\n    idempotent: true\n"
)


def chain(types: int) -> str:
    """``types`` types, each with a property holding the next; the request is the first."""
    lines = [_HEAD, "types:\n"]
    for i in range(types):
        lines.append(f"  T{i}:\n    description: Link {i}.\n    type: object\n")
        if i + 1 < types:
            lines.append(f"    properties:\n      next: {{$ref: '#/types/T{i + 1}'}}\n")
    lines.append("methods:\n" + _METHOD.format(request="{$ref: '#/types/T0'}"))
    return "".join(lines)


def inline(levels: int) -> str:
    """A request with ``levels`` inline objects, each the only property of the one around it."""
    schema = "{type: object}"
    for _ in range(levels):
        schema = "{type: object, properties: {a: " + schema + "}}"
    return _HEAD + "methods:\n" + _METHOD.format(request=schema)


def flow(levels: int) -> str:
    """An ``x-`` extension holding ``levels`` flow lists, each inside the one before."""
    deep = "[" * levels + "]" * levels
    return _HEAD + f"x-deep: {deep}\nmethods:\n" + _METHOD.format(request="{type: object}")


# The sizes that crashed (issue 15), and the deepest each shape may be: the top-level mapping is
# level 1; a chain's first type is at level 3 and each type adds two (properties, next); so does
# each inline object below the request at level 4; each flow list adds one below level 1.
CRASHED: dict[str, tuple[Callable[[int], str], int]] = {
    "chain": (chain, 500),
    "inline": (inline, 200),
    "flow": (flow, 1000),
}
DEEPEST = {
    "chain": (MAX_NESTING - 1) // 2,
    "inline": (MAX_NESTING - 4) // 2,
    "flow": MAX_NESTING - 1,
}
# Where LV105 is reported: the first type of the chain; the mapping or list past the limit
# (level 101: for inline objects, the `properties` of the 49th; for flow lists, the 100th).
WHERE = {"chain": "deep.yaml:6:3:", "inline": "deep.yaml:8:1529:", "flow": "deep.yaml:5:108:"}

COMMANDS: dict[str, list[str]] = {
    "generate": ["generate", "deep.yaml", "--out", "out"],
    "lint": ["lint", "deep.yaml"],
    "breaking": ["breaking", "deep.yaml", "--against", "deep.yaml"],
    "docs": ["docs", "deep.yaml", "--out", "docs"],
    "asyncapi": ["asyncapi", "deep.yaml", "--out", "asyncapi"],
    "call": ["call", "deep.yaml", "get", "{}"],
}


@pytest.mark.parametrize("shape", sorted(CRASHED))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_reports_lv105_instead_of_a_traceback(
    shape: str,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make, size = CRASHED[shape]
    monkeypatch.chdir(tmp_path)
    Path("deep.yaml").write_text(make(size))
    status = main(COMMANDS[command])
    output = capsys.readouterr()
    assert status != 0
    lines = (output.out + output.err).splitlines()
    (line,) = [line for line in lines if "LV105" in line]
    assert line.startswith(WHERE[shape])
    assert f"nested too deeply: more than {MAX_NESTING} levels" in line


@pytest.mark.parametrize("shape", sorted(CRASHED))
def test_the_limit_is_exact(shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the limit a definition is fine; one level more is LV105 (the front end of every
    command, and the loading of ``breaking``/``lint``)."""
    make, _ = CRASHED[shape]
    monkeypatch.chdir(tmp_path)
    Path("deep.yaml").write_text(make(DEEPEST[shape]))
    services, diagnostics = load_services(["deep.yaml"])
    assert [d.code for d in diagnostics] == [] and len(services) == 1
    Path("deep.yaml").write_text(make(DEEPEST[shape] + 1))
    services, diagnostics = load_services(["deep.yaml"])
    assert [d.code for d in diagnostics] == ["LV105"] and services == ()


def test_at_the_limit_breaking_and_lint_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deep.yaml").write_text(chain(DEEPEST["chain"]))
    assert main(["breaking", "deep.yaml", "--against", "deep.yaml"]) == 0
    assert main(["lint", "deep.yaml"]) == 0
    assert "LV105" not in capsys.readouterr().err


def test_a_chain_through_a_library_is_reported_in_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    library = chain(100).replace(_HEAD, "leveret: 1\n").split("methods:")[0]
    Path("lib.yaml").write_text(library)
    service = _HEAD + "methods:\n" + _METHOD.format(request="{$ref: 'lib.yaml#/types/T0'}")
    Path("deep.yaml").write_text(service)
    _, diagnostics = load_services(["deep.yaml"])
    assert [(d.file, d.line, d.col, d.code) for d in diagnostics] == [
        ("deep.yaml", 8, 5, "LV105"),
        ("lib.yaml", 3, 3, "LV105"),
    ]
    assert diagnostics[0].message.startswith("the request of method 'get' is nested too deeply")


def test_a_recursive_type_is_not_too_deep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("deep.yaml").write_text(
        _HEAD
        + "types:\n  Node:\n    description: A tree.\n    type: object\n    properties:\n"
        + "      children: {type: array, items: {$ref: '#/types/Node'}}\n"
        + "methods:\n"
        + _METHOD.format(request="{$ref: '#/types/Node'}")
    )
    services, diagnostics = load_services(["deep.yaml"])
    assert diagnostics == () and len(services) == 1


def test_json_nested_past_the_json_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deep enough for json.loads' own RecursionError: still LV105, where the limit is passed."""
    monkeypatch.chdir(tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    Path("deep.json").write_text('{"leveret": 1,\n"x-deep": ' + deep + "}")
    _, diagnostics = load_services(["deep.json"])
    assert [(d.line, d.col, d.code) for d in diagnostics] == [(2, 11 + MAX_NESTING - 1, "LV105")]


def test_aliases_that_nest_past_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each alias of a list holding the previous alias nests the data one level deeper than the
    text: the limit counts the data."""
    monkeypatch.chdir(tmp_path)
    lines = ["leveret: 1\n", "x-deep:\n", "  - &a0 [end]\n"]
    lines += [f"  - &a{i} [*a{i - 1}]\n" for i in range(1, 2 * MAX_NESTING)]
    Path("deep.yaml").write_text("".join(lines))
    _, diagnostics = load_services(["deep.yaml"])
    assert [(d.line, d.col, d.code) for d in diagnostics] == [(MAX_NESTING + 1, 5, "LV105")]
