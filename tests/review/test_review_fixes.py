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
    assert "types.Paging.properties.limit must be a mapping, not a string" in out


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
