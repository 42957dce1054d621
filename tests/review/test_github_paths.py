"""``--format github`` names files from the repository root, wherever the command runs (B17)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from leveret._cli import main

OLD = """\
leveret: 1
package: payments
service: Payments
description: Payments.
methods:
  pay:
    description: Pay.
    request: {type: object, additionalProperties: false, properties: {id: {type: string}}}
    response: {type: object, properties: {ok: {type: boolean}}}
    timeout: 5
    idempotent: true
"""
NEW = OLD.replace("{id: {type: string}}", "{id: {type: string, maxLength: 20}}")


@pytest.fixture
def subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Git must not find a repository above the temporary folder, whatever the machine has.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    folder = tmp_path / "services" / "payments"
    folder.mkdir(parents=True)
    (folder / "payments.yaml").write_text(NEW)
    (folder / "old.yaml").write_text(OLD)
    monkeypatch.chdir(folder)
    return tmp_path


def _files(out: str) -> list[str]:
    return [line.split("file=", 1)[1].split(",", 1)[0] for line in out.splitlines() if "::" in line]


def test_breaking_from_a_subfolder_of_a_git_repository(
    subfolder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(subfolder)], check=True)
    status = main(["breaking", "./payments.yaml", "--against", "./old.yaml", "--format", "github"])
    out = capsys.readouterr().out
    assert status == 1
    assert _files(out) == ["services/payments/payments.yaml"]
    assert out.startswith(
        "::error file=services/payments/payments.yaml,line=8,col=90,"
        "title=REQUEST_CONSTRAINT_TIGHTENED::"
    )


def test_lint_from_a_subfolder_of_a_git_repository(
    subfolder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(subfolder)], check=True)
    (Path.cwd() / "old.yaml").unlink()
    (Path.cwd() / "payments.yaml").write_text(NEW.replace("description: Pay.\n", ""))
    main(["lint", ".", "--format", "github"])
    files = _files(capsys.readouterr().out)
    assert files
    assert set(files) == {"services/payments/payments.yaml"}


def test_outside_git_paths_are_relative_to_github_workspace(
    subfolder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(subfolder / "services"))
    main(["breaking", "payments.yaml", "--against", "old.yaml", "--format", "github"])
    assert _files(capsys.readouterr().out) == ["payments/payments.yaml"]


def test_other_formats_keep_the_paths_as_given(
    subfolder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(subfolder)], check=True)
    main(["breaking", "./payments.yaml", "--against", "./old.yaml"])
    assert capsys.readouterr().out.startswith("payments.yaml:8:90: error[")
