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
