"""The README's TypeScript section, run as written against the real broker.

The test reads the section's code blocks in order and does what they say: a block whose first line
is ``// PATH`` is written to ``PATH`` in the project, each line of an ``sh`` block is run, and a
``text`` block is the output the command before it must print. Editing the snippets, the
commands or the outputs shown there without keeping them true fails the test; a command it does not
know fails it too, so that a new step cannot go untested.

Two steps reach the npm registry in the README and are done here as the cross-language tests do,
without it (``install_packed_runtime``): ``npm install <tarball>`` installs the runtime's
``npm pack`` tarball next to the runtime's own dependencies, and ``npm install --save-dev
typescript@5 @types/node@20`` is checked against the versions the runtime installed (its
compiler is the one that compiles the project). The servers and clients run on a vhost of the
test's own, so the README's default queue (``shop.Inventory``) is the test's alone; AMQP_URL
names it, as the README's programs read it. Beyond the README, the generated Python client calls
the TypeScript server and gets the declared error with its typed details.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generated.shop import InventoryClient, OutOfStock
from tests.interop.test_cross_language import (
    RUNTIME_TS,
    _Server,
    install_packed_runtime,
    node_toolchain,
)
from tests.support.broker_users import broker_users

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Every step the section must have, whatever else it says.
STEPS = {"pack", "project", "install", "generate", "compile", "serve", "call-ts", "call-py", "stop"}


def readme_blocks() -> list[tuple[str, str]]:
    """``(language, body)`` of each fenced block of the README's TypeScript section, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## TypeScript\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"^```(\w+)\n(.*?)^```$", text[start:end], re.MULTILINE | re.DOTALL)


@pytest.fixture
def vhost_url(amqp_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AMQP_URL for the README's programs: a user and vhost of this test's own."""
    with broker_users(amqp_url, "readme") as made:
        url = made.url("readme")
        monkeypatch.setenv("AMQP_URL", url)
        yield url


def _major(package: str) -> str:
    manifest = RUNTIME_TS / "node_modules" / package / "package.json"
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"]).split(".")[0]


def _check(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


class _Section:
    """The state of a run through the section: the shell's variables, folder and background job."""

    def __init__(self, tmp_path: Path, vhost_url: str) -> None:
        self.node, self.npm, self.tsc = node_toolchain()
        self.tmp_path = tmp_path
        self.url = vhost_url
        self.cwd = ROOT  # the README's commands start at the root of the clone
        self.variables: dict[str, str] = {}
        self.tarball: str | None = None
        self.server: _Server | None = None
        self.output: str | None = None  # what the last foreground command printed
        self.done: set[str] = set()

    def expand(self, text: str) -> str:
        return re.sub(r"\$(\w+)", lambda m: self.variables[m[1]], text)

    def leveret(self, command: str) -> str:
        """``$LEVERET/.venv/bin/leveret ARGS``, run as this interpreter's ``leveret``."""
        argv = shlex.split(self.expand(command))
        assert argv[0] == str(ROOT / ".venv" / "bin" / "leveret"), command
        done = subprocess.run(
            [sys.executable, "-m", "leveret", *argv[1:]],
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def run(self, line: str) -> None:
        parts = re.split(r"\s+#\s+", line, maxsplit=1)
        command, comment = parts[0].strip(), parts[1].strip() if len(parts) > 1 else ""
        self.output = None
        if command == "LEVERET=$PWD":
            self.variables["LEVERET"] = str(self.cwd)
        elif command == "(cd $LEVERET/runtime/typescript && npm ci && npm pack)":
            # .ci/run's `npm ci` in runtime/typescript built it; install_packed_runtime packs it.
            self.done.add("pack")
        elif match := re.fullmatch(r"mkdir (\S+) && cd \1", command):
            # Beside the clone in the README; here in the test's own folder.
            self.cwd = self.tmp_path / Path(match[1]).name
            self.cwd.mkdir()
            self.done.add("project")
        elif command == "npm init -y && npm pkg set type=module":
            _check([self.npm, "init", "-y"], self.cwd)
            _check([self.npm, "pkg", "set", "type=module"], self.cwd)
        elif match := re.fullmatch(r"npm install (\S+\.tgz)", command):
            tarball = Path(self.expand(match[1]))
            assert tarball.parent == RUNTIME_TS, command
            self.tarball = install_packed_runtime(self.npm, self.cwd)
            assert tarball.name == self.tarball, f"npm pack makes {self.tarball}"
            self.done.add("install")
        elif match := re.fullmatch(r"npm install --save-dev ((?:\S+@\d+ ?)+)", command):
            for spec in match[1].split():
                package, _, major = spec.rpartition("@")
                assert _major(package) == major, f"{spec}: the runtime installed {package} {major}"
                assert (self.cwd / "node_modules" / package).exists(), spec
        elif command.startswith("$LEVERET/.venv/bin/leveret generate "):
            self.leveret(command)
            self.done.add("generate")
        elif command.startswith("$LEVERET/.venv/bin/leveret call "):
            self.output = self.leveret(command)
            self.done.add("call-py")
        elif command == "npx tsc":
            _check([str(self.tsc)], self.cwd)
            self.done.add("compile")
        elif match := re.fullmatch(r"node (\S+) &", command):
            self.server = _Server([self.node, str(self.cwd / match[1])])
            self.server.wait_for(bool)
            printed = re.fullmatch(r"prints: (.*)", comment)
            assert printed is not None, f"say what {match[1]} prints once it serves: {line!r}"
            self.server.wait_for(lambda lines: lines[0] == printed[1], timeout=5)
            self.done.add("serve")
        elif match := re.fullmatch(r"node (\S+)", command):
            done = subprocess.run(
                [self.node, match[1]], cwd=self.cwd, capture_output=True, text=True, timeout=30
            )
            assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
            self.output = done.stdout
            self.done.add("call-ts")
        elif command == "kill %1":
            assert self.server is not None
            self.python_calls()
            self.server.proc.send_signal(signal.SIGTERM)
            assert self.server.proc.wait(15) == 0
            self.done.add("stop")
        else:
            pytest.fail(
                f"a command of the README's TypeScript section this test does not know: {line!r}"
            )

    def python_calls(self) -> None:
        """The generated Python client against the TypeScript server, declared error included."""
        with InventoryClient.connect(self.url) as client:
            reservation = client.reserve(sku="ABC-1234", quantity=1, timeout=5)
            assert (reservation.quantity, reservation.status) == (1, "held")
            with pytest.raises(OutOfStock) as caught:
                client.reserve(sku="ABC-1234", quantity=7, timeout=5)
        assert caught.value.details.available == 5
        assert str(caught.value.message) == "only 5 of ABC-1234 left"


def test_the_readme_typescript_section_works_as_written(tmp_path: Path, vhost_url: str) -> None:
    section = _Section(tmp_path, vhost_url)
    try:
        for language, body in readme_blocks():
            first = body.partition("\n")[0]
            if first.startswith("// "):
                path = section.cwd / first.removeprefix("// ")
                path.parent.mkdir(parents=True, exist_ok=True)
                # JSON with a comment is fine for tsc; the TypeScript files keep theirs too.
                path.write_text(body, encoding="utf-8")
            elif language == "sh":
                for line in body.splitlines():
                    section.run(line)
            elif language == "text":
                assert section.output is not None, f"output shown after no command:\n{body}"
                assert UUID.sub("<a new UUID>", section.output) == body
            else:
                pytest.fail(f"a {language} block this test does not know:\n{body}")
        assert section.done == STEPS, f"steps missing: {sorted(STEPS - section.done)}"
        assert section.server is not None
        # The metadata the TypeScript client sent reached the handler.
        assert "reserve 2 of ABC-1234 for acme" in section.server._lines
    finally:
        if section.server is not None:
            section.server.stop()
