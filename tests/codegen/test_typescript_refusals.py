"""What ``leveret generate --lang typescript`` refuses: definitions the Python generator accepts
but TypeScript cannot express exactly. Each is a located error naming TypeScript, and nothing is
written (fail closed), never code that is subtly wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from leveret._cli import main
from leveret_codegen._frontend import Text
from leveret_codegen._pipeline import generate_files
from leveret_codegen._ts import generate_typescript

BASE = """\
leveret: 1
package: refused
service: Refused
types:
  Item:
    type: object
    properties:
      n: {type: integer}
methods:
  get_item:
    request: {$ref: "#/types/Item"}
    response: {$ref: "#/types/Item"}
"""

CASES = {
    # An integer bound JavaScript rounds: Ajv would compare another number than Python.
    "unsafe_maximum": (
        BASE.replace("n: {type: integer}", "n: {type: integer, maximum: 9007199254740993}"),
        "refused.yaml:8:35: error[LV521]: integer 9007199254740993 in 'maximum' is beyond the "
        "integers JavaScript holds exactly",
    ),
    "unsafe_enum_member": (
        BASE.replace("n: {type: integer}", "n: {enum: [1, [2, -18014398509481984]]}"),
        "refused.yaml:8:25: error[LV521]: integer -18014398509481984 in 'enum'",
    ),
    # Methods the runtime's Client class has already.
    "client_member": (
        BASE.replace("  get_item:", "  call:"),
        "refused.yaml:10:3: error[LV522]: method 'call' becomes the TypeScript method 'call', "
        "which the runtime's Client class already has",
    ),
    "constructor": (
        BASE.replace("  get_item:", "  constructor:"),
        "refused.yaml:10:3: error[LV522]: method 'constructor' becomes the TypeScript method "
        "'constructor'",
    ),
    # A client with a then method is a thenable: await would call it.
    "then": (
        BASE.replace("  get_item:", "  then:"),
        "refused.yaml:10:3: error[LV522]: method 'then' becomes the TypeScript method 'then', "
        "which makes every client a thenable",
    ),
    # Two snake_case names, one camelCase name.
    "camel_collision": (
        BASE
        + """\
  get_2:
    request: {$ref: "#/types/Item"}
    response: {$ref: "#/types/Item"}
  get2:
    request: {$ref: "#/types/Item"}
    response: {$ref: "#/types/Item"}
""",
        "refused.yaml:16:3: error[LV523]: methods 'get_2' and 'get2' both become the TypeScript "
        "method 'get2'",
    ),
    # The client returns Promise<Response>: a type named Promise would hide the global one.
    "promise_type": (
        BASE.replace("Item", "Promise"),
        "refused.yaml:5:3: error[LV524]: type 'Promise' would hide TypeScript's global Promise",
    ),
}


@pytest.fixture
def definition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> str:
    monkeypatch.chdir(tmp_path)
    text, _ = CASES[request.param]
    Path("refused.yaml").write_text(text, encoding="utf-8")
    return "refused.yaml"


@pytest.mark.parametrize("definition", sorted(CASES), indirect=True)
def test_refused_with_a_located_diagnostic_naming_typescript(
    definition: str, request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.params["definition"]
    _, expected = CASES[case]
    assert generate_files([definition]).ok  # Python can express it
    result = generate_typescript([definition])
    assert not result.ok and result.files == {} and result.packages == ()
    rendered = [d.render() for d in result.diagnostics if d.severity == "error"]
    assert len(rendered) == 1, rendered
    assert rendered[0].startswith(expected), rendered[0]
    assert "TypeScript" in rendered[0] or "JavaScript" in rendered[0]


@pytest.mark.parametrize("definition", ["client_member"], indirect=True)
def test_the_cli_writes_nothing(definition: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", definition, "--lang", "typescript", "--out", "ts"]) == 1
    err = capsys.readouterr().err
    assert "error[LV522]" in err and "nothing written" in err
    assert not Path("ts").exists()
    assert main(["generate", definition, "--out", "py", "-q"]) == 0  # Python: fine


def test_a_referenced_file_is_checked_at_its_own_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("common.yaml").write_text(
        "leveret: 1\ntypes:\n  Big: {type: integer, minimum: -9007199254740992}\n", encoding="utf-8"
    )
    Path("main.yaml").write_text(
        BASE.replace("n: {type: integer}", 'n: {$ref: "common.yaml#/types/Big"}'), encoding="utf-8"
    )
    result = generate_typescript(["main.yaml"])
    assert [d.render().partition(":")[0] for d in result.diagnostics] == ["common.yaml"]
    assert result.diagnostics[0].code == "LV521"
    assert (result.diagnostics[0].line, result.diagnostics[0].col) == (3, 33)


def test_a_described_definition_is_checked_in_its_own_text() -> None:
    """A definition that is no file (``queue:<QUEUE>``, what a running service described itself
    with) is refused the same way, located in the document it came as."""
    document = json.dumps(yaml.safe_load(CASES["client_member"][0]), separators=(",", ":"))
    result = generate_typescript([Text("queue:refused.Refused", document, is_json=True)])
    assert not result.ok and result.files == {}
    (diagnostic,) = result.diagnostics
    assert (diagnostic.file, diagnostic.code, diagnostic.line) == (
        "queue:refused.Refused",
        "LV522",
        1,
    )
    assert document[diagnostic.col - 1 :].startswith('"call"')
