"""Where clients connect by default, and the runtime's independence from the generator."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leveret._url import DEFAULT_URL, is_memory, redact, resolve_url


def test_url_argument_then_env_then_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMQP_URL", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "amqp://guest:guest@localhost:5672/%2F"
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@broker:5672/%2F")
    assert resolve_url(None) == "amqp://u:p@broker:5672/%2F"
    assert resolve_url("memory://") == "memory://"
    assert is_memory("memory://x") and not is_memory(DEFAULT_URL)


def test_passwords_never_reach_messages() -> None:
    assert redact("amqp://user:s3cret@host:5672/%2F") == "amqp://user:***@host:5672/%2F"
    assert redact("amqp://host/") == "amqp://host/"


def test_the_runtime_never_imports_the_generator() -> None:
    code = (
        "import importlib, pkgutil, sys, leveret\n"
        "for m in pkgutil.iter_modules(leveret.__path__):\n"
        "    if m.name != '__main__':\n"
        "        importlib.import_module('leveret.' + m.name)\n"
        "bad = [n for n in sys.modules if n.startswith(('leveret_codegen', 'datamodel_code',"
        " 'jinja2', 'yaml', 'jsonschema'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_commands_of_a_missing_extra_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importlib.metadata import EntryPoint

    from leveret import _cli

    broken = EntryPoint(
        "generate", "leveret_codegen_not_installed.cli:register", "leveret.commands"
    )
    monkeypatch.setattr(_cli, "entry_points", lambda group: [broken])
    assert _cli.main(["generate", "schemas", "--out", "x"]) == 2
    assert 'pip install "leveret[codegen]"' in capsys.readouterr().err
