"""``leveret breaking`` and ``leveret lint`` on the command line: every output format, exact text,
exit statuses, ignores from a config file and from a definition, and ``--against git:REV``."""

from __future__ import annotations

import io
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from leveret._cli import main
from leveret_codegen._review.cli import _use_colour
from leveret_codegen._review.findings import Level, Rule
from leveret_codegen._review.report import Report, render_text
from leveret_codegen._review.rules_breaking import BREAKING_RULES
from leveret_codegen._review.rules_lint import LINT_RULES

OLD = """\
leveret: 1
package: shop
service: Shop
description: Items for sale.
methods:
  get_item:
    description: Look an item up.
    request:
      type: object
      additionalProperties: false
      properties:
        id: {type: string}
    response:
      type: object
      properties:
        name: {type: string}
    timeout: 5
    idempotent: true
  drop_item:
    description: Forget an item.
    request: {type: object, additionalProperties: false, properties: {id: {type: string}}}
    response: {type: object}
    timeout: 5
    idempotent: true
"""

NEW = """\
leveret: 1
package: shop
service: Shop
description: Items for sale.
x-leveret-ignore:
  - rule: METHOD_REMOVED
    reason: nobody has called drop_item since 1.2
methods:
  get_item:
    description: Look an item up.
    request:
      type: object
      additionalProperties: false
      properties:
        id: {type: string, maxLength: 20}
    response:
      type: object
      properties:
        name: {type: string}
        price: {type: integer}
    timeout: 2
    idempotent: true
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    (tmp_path / ".git").mkdir()  # stops the config search here
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _breaking(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    return _run(capsys, "breaking", "new.yaml", "--against", "old.yaml", *extra)


# -- breaking: the four formats ------------------------------------------------------------------


def test_breaking_text(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _breaking(capsys)
    assert (status, err) == (1, "")
    assert out == textwrap.dedent(
        """\
        new.yaml:15:28: error[REQUEST_CONSTRAINT_TIGHTENED] WIRE: get_item.request.id: no maxLength -> maxLength 20 [request]
        new.yaml:21:5: warning[METHOD_TIMEOUT_SHORTENED] WIRE: get_item: timeout 5s -> 2s
        new.yaml:20:9: info[PROPERTY_ADDED] WIRE: get_item.response: property 'price' added [response]
        new.yaml:8:1: ignored error[METHOD_REMOVED] WIRE: method 'drop_item' removed
            reason: nobody has called drop_item since 1.2
        leveret breaking: 1 breaking change, 1 warning, 1 non-breaking change, 1 ignored
        """  # noqa: E501
    )


def test_breaking_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _breaking(capsys, "--format", "json")
    assert status == 1
    finding = (
        '    {{\n      "rule": "{}",\n      "category": "WIRE",\n      "severity": "{}",\n'
        '      "breaking": {},\n      "ignored": {},\n      "reason": {},\n'
        '      "message": "{}",\n      "file": "new.yaml",\n      "line": {},\n      "col": {}\n'
        "    }}"
    )
    findings = [
        finding.format(
            "REQUEST_CONSTRAINT_TIGHTENED",
            "error",
            "true",
            "false",
            "null",
            "get_item.request.id: no maxLength -> maxLength 20 [request]",
            15,
            28,
        ),
        finding.format(
            "METHOD_TIMEOUT_SHORTENED",
            "warning",
            "false",
            "false",
            "null",
            "get_item: timeout 5s -> 2s",
            21,
            5,
        ),
        finding.format(
            "PROPERTY_ADDED",
            "info",
            "false",
            "false",
            "null",
            "get_item.response: property 'price' added [response]",
            20,
            9,
        ),
        finding.format(
            "METHOD_REMOVED",
            "error",
            "true",
            "true",
            '"nobody has called drop_item since 1.2"',
            "method 'drop_item' removed",
            8,
            1,
        ),
    ]
    assert out == (
        '{\n  "tool": "breaking",\n  "failed": true,\n  "summary": {\n    "error": 1,\n'
        '    "warning": 1,\n    "info": 1,\n    "ignored": 1\n  },\n  "findings": [\n'
        + ",\n".join(findings)
        + "\n  ]\n}\n"
    )


def test_breaking_github(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _breaking(capsys, "--format", "github")
    assert status == 1
    assert out == textwrap.dedent(
        """\
        ::error file=new.yaml,line=15,col=28,title=REQUEST_CONSTRAINT_TIGHTENED::WIRE: get_item.request.id: no maxLength -> maxLength 20 [request]
        ::warning file=new.yaml,line=21,col=5,title=METHOD_TIMEOUT_SHORTENED::WIRE: get_item: timeout 5s -> 2s
        ::notice file=new.yaml,line=20,col=9,title=PROPERTY_ADDED::WIRE: get_item.response: property 'price' added [response]
        ::notice file=new.yaml,line=8,col=1,title=METHOD_REMOVED (ignored)::WIRE: method 'drop_item' removed (ignored: nobody has called drop_item since 1.2)
        leveret breaking: 1 breaking change, 1 warning, 1 non-breaking change, 1 ignored
        """  # noqa: E501
    )


def test_breaking_markdown(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _breaking(capsys, "--format", "markdown")
    assert status == 1
    assert out == textwrap.dedent(
        """\
        ### leveret breaking: 1 breaking change, 1 warning, 1 non-breaking change, 1 ignored

        #### Breaking changes (1)

        | Rule | Category | Where | Finding |
        | --- | --- | --- | --- |
        | `REQUEST_CONSTRAINT_TIGHTENED` | WIRE | `new.yaml:15:28` | get_item.request.id: no maxLength -> maxLength 20 [request] |

        #### Warnings (1)

        | Rule | Category | Where | Finding |
        | --- | --- | --- | --- |
        | `METHOD_TIMEOUT_SHORTENED` | WIRE | `new.yaml:21:5` | get_item: timeout 5s -> 2s |

        <details><summary>Non-breaking changes (1)</summary>

        | Rule | Category | Where | Finding |
        | --- | --- | --- | --- |
        | `PROPERTY_ADDED` | WIRE | `new.yaml:20:9` | get_item.response: property 'price' added [response] |

        </details>

        <details><summary>Ignored (1)</summary>

        | Rule | Category | Where | Finding | Reason |
        | --- | --- | --- | --- | --- |
        | `METHOD_REMOVED` | WIRE | `new.yaml:8:1` | method 'drop_item' removed | nobody has called drop_item since 1.2 |

        </details>
        """  # noqa: E501
    )


def test_no_changes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for format_name, expected in (
        ("text", "leveret breaking: no changes\n"),
        ("github", "leveret breaking: no changes\n"),
        ("markdown", "### leveret breaking: no changes\n"),
    ):
        status, out, _ = _run(
            capsys, "breaking", "new.yaml", "--against", "new.yaml", "--format", format_name
        )
        assert (status, out) == (0, expected)


# -- exit statuses -------------------------------------------------------------------------------


def test_warnings_and_info_never_fail_unless_asked(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "new.yaml").write_text(NEW.replace("maxLength: 20", "minLength: 0"))
    status, out, _ = _breaking(capsys)
    assert status == 0
    assert out.endswith(
        "leveret breaking: 0 breaking changes, 1 warning, 1 non-breaking change, 1 ignored\n"
    )
    assert _breaking(capsys, "--fail-on", "warning")[0] == 1


def test_usage_and_load_errors_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "breaking", "new.yaml")
    assert status == 2
    assert err.endswith(
        "leveret breaking: error: give the new definitions (NEW) and --against OLD\n"
    )
    (workdir / "broken.yaml").write_text("leveret: 1\nservice: 42\n")
    status, out, err = _run(capsys, "breaking", "broken.yaml", "--against", "old.yaml")
    assert (status, out) == (2, "")
    assert err.startswith(
        "leveret breaking: the new definitions cannot be read:\nbroken.yaml:2:1: error[LV207]"
    )
    (workdir / "dangling.yaml").write_text(NEW.replace("{type: integer}", '{$ref: "#/types/Nope"}'))
    status, out, err = _run(capsys, "breaking", "dangling.yaml", "--against", "old.yaml")
    assert (status, out) == (2, "")
    assert err == (
        "leveret breaking: the new definitions cannot be read:\n"
        "dangling.yaml:20:23: error[LV301]: $ref to an unknown type 'Nope'\n"
        "    hint: types of this file: none\n"
    )
    status, _, err = _run(capsys, "breaking", "new.yaml", "--against", "missing.yaml")
    assert status == 2
    assert "missing.yaml:0:0: error[LV100]: no such file or folder" in err


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    for command, rules in (("breaking", BREAKING_RULES), ("lint", LINT_RULES)):
        status, out, _ = _run(capsys, command, "--list-rules")
        assert status == 0
        assert [line.split()[0] for line in out.splitlines()] == list(rules.rules)
    status, out, _ = _run(capsys, "breaking", "--list-rules")
    assert out.splitlines()[0] == (
        "SERVICE_REMOVED                     WIRE      error    "
        "a service was removed: its callers get no reply"
    )


# -- ignores -------------------------------------------------------------------------------------


def test_config_file_ignores_a_rule_for_one_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "other.yaml").write_text("leveret: 1\n")  # an ignore must name an existing file
    (workdir / "leveret.yaml").write_text(
        "breaking:\n  ignore:\n"
        "    - {rule: REQUEST_CONSTRAINT_TIGHTENED, file: new.yaml, reason: ids were never longer}"
        "\n"
        "    - {rule: PROPERTY_ADDED, file: other.yaml, reason: not this file}\n"
    )
    status, out, _ = _breaking(capsys)
    assert status == 0
    assert "ignored error[REQUEST_CONSTRAINT_TIGHTENED]" in out
    assert "    reason: ids were never longer\n" in out
    assert "\nnew.yaml:20:9: info[PROPERTY_ADDED]" in out


def test_config_from_a_parent_folder_and_with_a_glob(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "defs").mkdir()
    for name in ("old.yaml", "new.yaml"):
        shutil.move(workdir / name, workdir / "defs" / name)
    (workdir / ".leveret.yaml").write_text(
        "breaking:\n  ignore:\n"
        "    - {rule: REQUEST_CONSTRAINT_TIGHTENED, file: 'defs/*.yaml', reason: ids were short}\n"
    )
    monkeypatch.chdir(workdir / "defs")
    status, out, _ = _breaking(capsys)
    assert status == 0
    assert "new.yaml:15:28: ignored error[REQUEST_CONSTRAINT_TIGHTENED]" in out


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            "breaking:\n  ignore:\n    - {rule: NO_SUCH_RULE, reason: x}\n",
            "unknown rule 'NO_SUCH_RULE'",
        ),
        (
            "breaking:\n  ignore:\n    - {rule: METHOD_REMOVED}\n",
            "ignoring METHOD_REMOVED needs a reason",
        ),
        ("breaking:\n  skip: []\n", "breaking: only `ignore: [...]` is allowed"),
        ("checks: {}\n", "unknown section 'checks'"),
    ],
)
def test_bad_config_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    (workdir / "custom.yaml").write_text(config)
    status, out, err = _breaking(capsys, "--config", "custom.yaml")
    assert (status, out) == (2, "")
    assert message in err


def test_an_ignore_in_a_definition_needs_a_reason(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "new.yaml").write_text(
        NEW.replace("    reason: nobody has called drop_item since 1.2\n", "")
    )
    status, _, err = _breaking(capsys)
    assert status == 2
    assert (
        err == "leveret breaking: new.yaml:5:1: x-leveret-ignore[0]: "
        "ignoring METHOD_REMOVED needs a reason\n"
    )


# -- colour --------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _use_colour(_Terminal()) is True
    assert _use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert _use_colour(_Terminal()) is False


def test_coloured_text() -> None:
    rule = Rule("METHOD_REMOVED", "WIRE", Level.ERROR, "")
    finding = rule.at("a.yaml", (3, 1), "method 'x' removed")
    text = render_text(Report("breaking", [finding], True), colour=True)
    assert text.splitlines()[0] == (
        "a.yaml:3:1: \033[1;31merror[METHOD_REMOVED]\033[0m WIRE: method 'x' removed"
    )


# -- lint ----------------------------------------------------------------------------------------

LINTED = """\
leveret: 1
package: shop
service: Shop
x-leveret-ignore:
  - {rule: SERVICE_DESCRIPTION, reason: described in the team wiki}
methods:
  GetItem:
    description: Look an item up.
    request: {type: object, properties: {id: {type: string}}}
    response: {type: object}
    timeout: 5
"""


def test_lint_formats(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "def.yaml").write_text(LINTED)
    status, out, _ = _run(capsys, "lint", "def.yaml")
    assert status == 1
    assert out == textwrap.dedent(
        """\
        def.yaml:7:3: error[METHOD_SNAKE_CASE] NAMING: method 'GetItem' is not snake_case
        def.yaml:7:3: warning[METHOD_IDEMPOTENT] BEHAVIOUR: method 'GetItem' does not state `idempotent: true` or `false`
        def.yaml:9:5: warning[REQUEST_CLOSED] EVOLUTION: GetItem.request: a request object without `additionalProperties: false` (on a definition in use, this change itself breaks callers: make it in new types or a new major version, or ignore the rule with a reason)
        def.yaml:3:1: ignored warning[SERVICE_DESCRIPTION] DOCS: service 'Shop' has no description
            reason: described in the team wiki
        leveret lint: 1 error, 2 warnings, 0 notes, 1 ignored
        """  # noqa: E501
    )
    status, out, _ = _run(capsys, "lint", "def.yaml", "--format", "github")
    assert out == textwrap.dedent(
        """\
        ::error file=def.yaml,line=7,col=3,title=METHOD_SNAKE_CASE::NAMING: method 'GetItem' is not snake_case
        ::warning file=def.yaml,line=7,col=3,title=METHOD_IDEMPOTENT::BEHAVIOUR: method 'GetItem' does not state `idempotent: true` or `false`
        ::warning file=def.yaml,line=9,col=5,title=REQUEST_CLOSED::EVOLUTION: GetItem.request: a request object without `additionalProperties: false` (on a definition in use, this change itself breaks callers: make it in new types or a new major version, or ignore the rule with a reason)
        ::notice file=def.yaml,line=3,col=1,title=SERVICE_DESCRIPTION (ignored)::DOCS: service 'Shop' has no description (ignored: described in the team wiki)
        leveret lint: 1 error, 2 warnings, 0 notes, 1 ignored
        """  # noqa: E501
    )
    status, out, _ = _run(capsys, "lint", "def.yaml", "--format", "markdown")
    assert out == textwrap.dedent(
        """\
        ### leveret lint: 1 error, 2 warnings, 0 notes, 1 ignored

        #### Errors (1)

        | Rule | Category | Where | Finding |
        | --- | --- | --- | --- |
        | `METHOD_SNAKE_CASE` | NAMING | `def.yaml:7:3` | method 'GetItem' is not snake_case |

        #### Warnings (2)

        | Rule | Category | Where | Finding |
        | --- | --- | --- | --- |
        | `METHOD_IDEMPOTENT` | BEHAVIOUR | `def.yaml:7:3` | method 'GetItem' does not state `idempotent: true` or `false` |
        | `REQUEST_CLOSED` | EVOLUTION | `def.yaml:9:5` | GetItem.request: a request object without `additionalProperties: false` (on a definition in use, this change itself breaks callers: make it in new types or a new major version, or ignore the rule with a reason) |

        <details><summary>Ignored (1)</summary>

        | Rule | Category | Where | Finding | Reason |
        | --- | --- | --- | --- | --- |
        | `SERVICE_DESCRIPTION` | DOCS | `def.yaml:3:1` | service 'Shop' has no description | described in the team wiki |

        </details>
        """  # noqa: E501
    )
    status, out, _ = _run(capsys, "lint", "def.yaml", "--format", "json")
    assert out.startswith(
        '{\n  "tool": "lint",\n  "failed": true,\n  "summary": {\n    "error": 1,\n'
        '    "warning": 2,\n    "info": 0,\n    "ignored": 1\n  },\n  "findings": [\n    {\n'
        '      "rule": "METHOD_SNAKE_CASE",\n      "category": "NAMING",\n'
        '      "severity": "error",\n      "breaking": true,\n      "ignored": false,\n'
        '      "reason": null,\n      "message": "method \'GetItem\' is not snake_case",\n'
        '      "file": "def.yaml",\n      "line": 7,\n      "col": 3\n    },\n'
    )


def test_lint_clean_and_the_examples(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "def.yaml").write_text(OLD)
    assert _run(capsys, "lint", "def.yaml") == (0, "leveret lint: clean\n", "")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    status, out, _ = _run(capsys, "lint", "schemas")
    assert status == 0
    assert out.endswith("leveret lint: 0 errors, 0 warnings, 0 notes, 18 ignored\n")


# -- git -----------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_against_a_git_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "api" / "defs").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "api" / "defs" / "shop.yaml").write_text(OLD)
    (repo / "api" / "defs" / "lib.yaml").write_text("leveret: 1\ntypes: {Money: {type: integer}}\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    (repo / "api" / "defs" / "shop.yaml").write_text(NEW)
    (repo / "api" / "defs" / "lib.yaml").unlink()
    other = OLD.replace("package: shop", "package: other").replace("Shop", "Other")
    (repo / "api" / "defs" / "other.yaml").write_text(other)
    monkeypatch.chdir(repo / "api")  # paths are the user's, git paths the repository's
    status, out, err = _run(capsys, "breaking", "defs", "--against", "git:HEAD")
    assert (status, err) == (1, "")
    assert out == textwrap.dedent(
        """\
        defs/shop.yaml:15:28: error[REQUEST_CONSTRAINT_TIGHTENED] WIRE: get_item.request.id: no maxLength -> maxLength 20 [request]
        defs/lib.yaml:1:1: warning[FILE_REMOVED] SOURCE: library (defs/lib.yaml) removed
        defs/shop.yaml:21:5: warning[METHOD_TIMEOUT_SHORTENED] WIRE: get_item: timeout 5s -> 2s
        defs/other.yaml:3:1: info[SERVICE_ADDED] WIRE: service 'Other' added
        defs/shop.yaml:20:9: info[PROPERTY_ADDED] WIRE: get_item.response: property 'price' added [response]
        defs/shop.yaml:8:1: ignored error[METHOD_REMOVED] WIRE: method 'drop_item' removed
            reason: nobody has called drop_item since 1.2
        leveret breaking: 1 breaking change, 2 warnings, 2 non-breaking changes, 1 ignored
        """  # noqa: E501
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "v2")
    assert _run(capsys, "breaking", "defs/shop.yaml", "--against", "git:HEAD") == (
        0,
        "leveret breaking: no changes\n",
        "",
    )
    status, out, _ = _run(capsys, "breaking", "defs/shop.yaml", "--against", "git:HEAD~1")
    assert status == 1
    status, _, err = _run(capsys, "breaking", "defs", "--against", "git:nope")
    assert (status, err) == (2, "leveret breaking: unknown revision 'nope'\n")


def test_current_folder_against_an_absolute_copy_pairs_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``.`` lists its files without a "./" prefix: pairing must not cut their names."""
    schemas = Path(__file__).resolve().parents[2] / "schemas"
    new, old = tmp_path / "new", tmp_path / "old"
    shutil.copytree(schemas, new)
    shutil.copytree(schemas, old)
    monkeypatch.chdir(new)
    status, out, _ = _run(capsys, "breaking", ".", "--against", str(old))
    assert (status, out) == (0, "leveret breaking: no changes\n")
