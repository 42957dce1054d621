"""An ignore in leveret.yaml must name a file that exists: a typo would switch it off silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret._cli import main

_DEFINITION = """\
leveret: 1
package: shop
service: Shop
description: Items for sale.
methods:
  get_item:
    description: Look an item up.
    request: {type: object, additionalProperties: false, properties: {id: {type: string}}}
    response: {type: object, properties: {name: {type: string}}}
    timeout: 5
    idempotent: true
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "shop.yaml").write_text(_DEFINITION)
    (tmp_path / ".git").mkdir()  # stops the config search here
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _lint(repo: Path, capsys: pytest.CaptureFixture[str], entry: str) -> tuple[int, str]:
    (repo / "leveret.yaml").write_text(f"lint:\n  ignore:\n    - {entry}\n")
    status = main(["lint", "schemas"])
    return status, capsys.readouterr().err


def test_an_ignore_for_a_missing_file_is_a_config_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _lint(
        repo, capsys, "{rule: TYPE_DESCRIPTION, file: schemas/shops.yaml, reason: legacy}"
    )
    assert status == 2
    assert err == (
        f"leveret lint: {repo / 'leveret.yaml'}: lint[0]: file 'schemas/shops.yaml' matches no "
        f"file (relative to {repo.resolve()}); did you mean 'schemas/shop.yaml'?\n"
    )


def test_a_glob_that_matches_nothing_is_a_config_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _lint(repo, capsys, "{rule: TYPE_DESCRIPTION, file: 'schema/*.yaml', reason: x}")
    assert status == 2
    assert "file 'schema/*.yaml' matches no file" in err


@pytest.mark.parametrize("file", ["schemas/shop.yaml", "schemas/*.yaml", "*/shop.yaml"])
def test_an_ignore_for_an_existing_file_is_accepted(
    repo: Path, capsys: pytest.CaptureFixture[str], file: str
) -> None:
    status, err = _lint(repo, capsys, f"{{rule: TYPE_DESCRIPTION, file: '{file}', reason: x}}")
    assert (status, err) == (0, "")


def test_a_removed_file_may_be_named_by_the_rules_about_removed_files(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "old").mkdir()
    (repo / "old" / "gone.yaml").write_text(_DEFINITION.replace("Shop", "Gone"))
    (repo / "leveret.yaml").write_text(
        "breaking:\n  ignore:\n"
        "    - {rule: SERVICE_REMOVED, file: old/gone.yaml, reason: retired}\n"
        "    - {rule: FILE_REMOVED, file: schemas/lib.yaml, reason: inlined}\n"
    )
    assert main(["breaking", "schemas", "--against", "schemas"]) == 0
    assert capsys.readouterr().err == ""


def test_an_unknown_rule_gets_a_suggestion(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _lint(repo, capsys, "{rule: TYPE_DESCRIPTON, file: schemas/shop.yaml, reason: x}")
    assert status == 2
    assert "unknown rule 'TYPE_DESCRIPTON' (did you mean 'TYPE_DESCRIPTION'?)" in err
