"""Fixes from the fourth adversarial review of ``leveret lint`` and ``leveret breaking``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from leveret._cli import main

SHOP = """\
leveret: 1
package: shop
service: Shop
description: Items for sale.
methods:
  reserve:
    description: Hold some items.
    request:
      type: object
      additionalProperties: false
      properties:
        quantity: {type: integer, minimum: 1, maximum: 1000}
    response: {type: object, properties: {id: {type: string}}}
    timeout: 5
    idempotent: false
"""


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def empty_config(tmp_path: Path) -> str:
    config = tmp_path / "empty-config.yaml"
    config.write_text("{}\n")
    return str(config)


# -- D7: a file moved with git mv is paired with its old version, not reported as added ---------


@pytest.fixture
def moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    (repo / "defs").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "defs" / "shop.yaml").write_text(SHOP)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "v1")
    (repo / "api").mkdir()
    _git(repo, "mv", "defs/shop.yaml", "api/stock.yaml")
    stock = repo / "api" / "stock.yaml"
    stock.write_text(stock.read_text().replace("maximum: 1000", "maximum: 10"))
    monkeypatch.chdir(repo / "api")
    return repo


def test_a_moved_file_given_as_a_file_is_compared_with_its_old_path(
    moved: Path, capsys: pytest.CaptureFixture[str], empty_config: str
) -> None:
    status, out, err = _run(
        capsys, "breaking", "stock.yaml", "--against", "git:HEAD", "--config", empty_config
    )
    assert (status, err) == (1, "")
    assert "REQUEST_CONSTRAINT_TIGHTENED" in out and "maximum 1000 -> maximum 10" in out
    assert "SERVICE_ADDED" not in out


def test_a_moved_file_given_as_a_folder_is_compared_with_its_old_path(
    moved: Path, capsys: pytest.CaptureFixture[str], empty_config: str
) -> None:
    status, out, _ = _run(
        capsys, "breaking", ".", "--against", "git:HEAD", "--config", empty_config
    )
    assert status == 1
    assert "REQUEST_CONSTRAINT_TIGHTENED" in out and "SERVICE_ADDED" not in out


def test_a_new_service_is_still_added(
    moved: Path, capsys: pytest.CaptureFixture[str], empty_config: str
) -> None:
    other = SHOP.replace("service: Shop", "service: Other")
    Path("other.yaml").write_text(other)
    status, out, _ = _run(
        capsys, "breaking", "other.yaml", "--against", "git:HEAD", "--config", empty_config
    )
    assert status == 0
    assert "info[SERVICE_ADDED]" in out


# -- D1, D2: lint reports a malformed definition, it never crashes on one -------------------------


@pytest.mark.parametrize("entry", ["{name: Gone}", "[Gone]"])
def test_lint_reports_an_errors_entry_that_is_not_a_name(
    entry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    empty_config: str,
) -> None:
    text = SHOP.replace("    timeout: 5\n", f"    errors: [{entry}]\n    timeout: 5\n")
    (tmp_path / "shop.yaml").write_text("errors: {Gone: {status: NOT_FOUND}}\n" + text)
    monkeypatch.chdir(tmp_path)
    status, out, _ = _run(capsys, "lint", "shop.yaml", "--config", empty_config)
    assert status == 1
    assert "[DEFINITION_VALID] DEFINITION: LV203: methods.reserve.errors.0 must be a string" in out


def test_lint_reports_a_default_beside_a_malformed_subschema(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], empty_config: str
) -> None:
    monkeypatch.chdir(Path(__file__).parents[1] / "invalid" / "cases")
    status, out, _ = _run(
        capsys, "lint", "default_malformed_subschema.yaml", "--config", empty_config
    )
    assert status == 1
    assert out.count("[DEFINITION_VALID]") == 4
    assert "types.Paging.properties.limit must be a boolean or a mapping, not a string" in out


# -- D8, D9: closedness advice that does not backfire, and that says what following it costs -----

FREE_FORM = """\
leveret: 1
package: p
service: S
description: d
types:
  Labels: {description: free-form labels, type: object}
methods:
  tag:
    description: d
    request:
      type: object
      additionalProperties: false
      properties:
        labels: {$ref: "#/types/Labels"}
        extra: {description: metadata, type: object%s}
    response: {type: object, additionalProperties: false, properties: {ok: {type: boolean}}}
    timeout: 1
    idempotent: true
"""


def _lint_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> list[str]:
    from leveret_codegen._review.lint import lint_paths

    (tmp_path / "def.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    findings, _ = lint_paths(["def.yaml"])
    return [f"{f.rule}: {f.message}" for f in findings]


def test_a_free_form_request_object_is_not_asked_to_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = [m for m in _lint_messages(tmp_path, monkeypatch, FREE_FORM % "") if "CLOSED" in m]
    assert [m.split(": ")[1] for m in found] == ["Labels", "tag.request.extra"]
    for message in found:
        assert message.startswith("REQUEST_CLOSED: ")
        assert "without `additionalProperties: false`" not in message
        assert "state `additionalProperties: true` if that is meant" in message
        assert "(a map: `additionalProperties: {type: string}`)" in message


@pytest.mark.parametrize("stated", ["true", "{type: string}"])
def test_a_free_form_object_stating_its_values_is_accepted(
    stated: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (FREE_FORM % f", additionalProperties: {stated}").replace(
        "type: object}\n", f"type: object, additionalProperties: {stated}}}\n", 1
    )
    found = _lint_messages(tmp_path, monkeypatch, text)
    assert [m for m in found if m.startswith(("REQUEST_CLOSED", "RESPONSE_TOLERANT"))] == [
        "RESPONSE_TOLERANT: tag.response: a response object with `additionalProperties: false`"
        " (on a definition in use, this change itself breaks callers: make it in new types or "
        "a new major version, or ignore the rule with a reason)"
    ]


def test_closedness_advice_says_following_it_on_a_definition_in_use_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = FREE_FORM.replace("      additionalProperties: false\n", "", 1) % ""
    found = _lint_messages(tmp_path, monkeypatch, text)
    closing = [m for m in found if m.startswith("REQUEST_CLOSED: tag.request:")]
    opening = [m for m in found if m.startswith("RESPONSE_TOLERANT")]
    assert len(closing) == len(opening) == 1
    for message in closing + opening:
        assert message.endswith(
            "(on a definition in use, this change itself breaks callers: make it in new types "
            "or a new major version, or ignore the rule with a reason)"
        )
    docs = " ".join((Path(__file__).parents[2] / "docs" / "schema-review.md").read_text().split())
    assert "On a definition callers already use, following it is itself a breaking change" in docs


# -- D11, D12: ignores that could never match, and suggestions that make sense ------------------


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "shop.yaml").write_text(SHOP)
    (tmp_path / "schemas" / "library.yaml").write_text("leveret: 1\ntypes: {}\n")
    (tmp_path / "schemas" / "notes.yaml").write_text("title: not a definition\n")
    (tmp_path / "README.md").write_text("# shop\n")
    (tmp_path / ".git").mkdir()  # stops the config search here
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _config_error(
    repo: Path, capsys: pytest.CaptureFixture[str], section: str, entry: str, tool: str = "lint"
) -> str:
    (repo / "leveret.yaml").write_text(f"{section}:\n  ignore:\n    - {entry}\n")
    args = [tool, "schemas"] + (["--against", "schemas"] if tool == "breaking" else [])
    status = main(args)
    err = capsys.readouterr().err
    assert status == 2, err
    prefix = f"leveret {tool}: {repo / 'leveret.yaml'}: {section}[0]: "
    assert err.startswith(prefix) and err.endswith("\n") and err.count("\n") == 1
    return err[len(prefix) : -1]


@pytest.mark.parametrize(
    "file",
    ["{repo}/schemas/shop.yaml", "../{name}/schemas/shop.yaml", "/etc/passwd", ".."],
)
def test_an_ignore_for_a_file_outside_the_config_folder_is_refused(
    file: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = file.format(repo=repo, name=repo.name)
    message = _config_error(
        repo, capsys, "lint", f"{{rule: TYPE_DESCRIPTION, file: '{file}', reason: r}}"
    )
    assert message.startswith(f"file {file!r} is outside the config's folder ({repo.resolve()})")


@pytest.mark.parametrize("file", ["README.md", "schemas/notes.yaml", "schemas/notes.*"])
def test_an_ignore_for_a_file_that_is_not_a_definition_is_refused(
    file: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _config_error(
        repo, capsys, "lint", f"{{rule: TYPE_DESCRIPTION, file: '{file}', reason: r}}"
    )
    assert message.startswith(f"file {file!r} is not a service definition")


def test_an_empty_file_is_refused_not_taken_for_every_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _config_error(repo, capsys, "lint", "{rule: TYPE_DESCRIPTION, file: '', reason: r}")
    assert message == "file must be a path or a glob (leave it out for every file)"


@pytest.mark.parametrize(
    ("section", "rule", "other", "tool"),
    [
        ("lint", "QUEUE_CHANGED", "breaking", "lint"),
        ("breaking", "TYPE_DESCRIPTION", "lint", "breaking"),
    ],
)
def test_a_rule_under_the_other_tool_is_refused(
    section: str, rule: str, other: str, tool: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _config_error(repo, capsys, section, f"{{rule: {rule}, reason: r}}", tool)
    assert message == (
        f"{rule} is a rule of `leveret {other}`, so here it can never match; "
        f"move the entry under `{other}:`"
    )


def test_definition_valid_cannot_be_ignored(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = _config_error(repo, capsys, "lint", "{rule: DEFINITION_VALID, reason: r}")
    assert message.startswith("DEFINITION_VALID cannot be ignored")
    (repo / "leveret.yaml").unlink()
    shop = repo / "schemas" / "shop.yaml"
    shop.write_text(shop.read_text() + "x-leveret-ignore: [{rule: DEFINITION_VALID, reason: r}]\n")
    assert main(["lint", "schemas"]) == 2
    assert "DEFINITION_VALID cannot be ignored" in capsys.readouterr().err


def test_a_valid_relative_ignore_still_works(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "leveret.yaml").write_text(
        "lint: {ignore: [{rule: METHOD_IDEMPOTENT, file: 'schemas/*.yaml', reason: r}]}\n"
    )
    (repo / "schemas" / "shop.yaml").write_text(SHOP.replace("    idempotent: false\n", ""))
    status = main(["lint", "schemas"])
    out = capsys.readouterr().out
    assert status == 0 and "ignored warning[METHOD_IDEMPOTENT]" in out


@pytest.mark.parametrize(
    ("name", "known", "guess"),
    [
        ("orders.yaml", ["library.yaml", "inventory.yaml", "common.yaml"], None),
        ("FOO_CHANGED", ["DEFAULT_CHANGED", "QUEUE_CHANGED"], None),
        ("invntory.yaml", ["library.yaml", "inventory.yaml"], "inventory.yaml"),
        ("QUEUE_CHANGD", ["QUEUE_CHANGED", "QUEUE_TYPE_CHANGED"], "QUEUE_CHANGED"),
        ("METOD_REMOVED", ["METHOD_REMOVED", "SERVICE_REMOVED"], "METHOD_REMOVED"),
        ("get_boo", ["get_book", "put_item"], "get_book"),
    ],
)
def test_suggestions_ignore_a_shared_word(name: str, known: list[str], guess: str | None) -> None:
    from leveret_codegen._suggest import closest

    assert closest(name, known) == guess


def test_no_nonsense_suggestion_for_a_config_typo(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = _config_error(
        repo, capsys, "lint", "{rule: TYPE_DESCRIPTION, file: schemas/orders.yaml, reason: r}"
    )
    assert message == f"file 'schemas/orders.yaml' matches no file (relative to {repo.resolve()})"
    assert _config_error(repo, capsys, "lint", "{rule: FOO_CHANGED, reason: r}") == (
        "unknown rule 'FOO_CHANGED'"
    )
