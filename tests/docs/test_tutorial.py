"""docs/tutorial.md runs as written, against the real broker, so the tutorial cannot rot.

The tutorial's fenced blocks follow a convention this test reads:

- a block with a title, `` ```python title="service.py" ``, is a file the reader saves: it is
  written to the tutorial's folder under that name, exactly as shown;
- a `` ```console `` block holds commands (`$ ...`) each followed by the output it shows. The
  output is compared line by line with stdout then stderr; `...` in a shown line stands for any
  text. A command ending in `# exit N` must exit with N, any other with 0;
- `leveret serve` keeps running, like a worker in a terminal of its own: its output is awaited
  until the shown lines appear, and it is stopped with SIGINT (Ctrl-C) where the page has the
  marker `<!-- tutorial-test: stop leveret serve ... -->`, and must then exit 0;
- other blocks (`` ```sh ``: installing, starting RabbitMQ) are for the reader and are not run.

Only `leveret` (run as `sys.executable -m leveret`) and `python` (`sys.executable`) commands may
appear in console blocks: anything else fails the test rather than go unchecked.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

TUTORIAL = ROOT / "docs" / "tutorial.md"
# The queue the tutorial's definition names; deleted before and after the run.
TUTORIAL_QUEUE = "hello.Greeter"
STOP_MARKER = "<!-- tutorial-test: stop leveret serve"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_EXIT = re.compile(r"\s+#\s*exit (?P<status>\d+)\b.*$")


@dataclass
class WriteFile:
    name: str
    text: str


@dataclass
class Run:
    command: str
    expected: list[str] = field(default_factory=list)
    status: int = 0


@dataclass
class StopServe:
    pass


Step = WriteFile | Run | StopServe


def parse(markdown: str) -> list[Step]:
    steps: list[Step] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(STOP_MARKER):
            steps.append(StopServe())
        fence = _FENCE.match(line)
        if not fence:
            i += 1
            continue
        indent = len(fence["indent"])
        body: list[str] = []
        i += 1
        while not lines[i].strip().startswith("```"):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        title = _TITLE.search(fence["attrs"])
        if title:
            steps.append(WriteFile(title["title"], "\n".join(body) + "\n"))
        elif fence["lang"] == "console":
            for text in body:
                if text.startswith("$ "):
                    command = text[2:]
                    status = 0
                    if exit_ := _EXIT.search(command):
                        status = int(exit_["status"])
                        command = command[: exit_.start()]
                    steps.append(Run(command, status=status))
                else:
                    run = steps[-1]
                    assert isinstance(run, Run), f"output before any command: {text!r}"
                    run.expected.append(text)
    return steps


def argv(command: str) -> list[str]:
    words = shlex.split(command)
    if words[0] == "leveret":
        return [sys.executable, "-m", "leveret", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise AssertionError(f"the tutorial runs {words[0]!r}, which this test cannot check")


def matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        pattern = ".*".join(re.escape(part) for part in want.split("..."))
        if not re.fullmatch(pattern, got):
            return False
    return True


class Background:
    """A long-running command, like `leveret serve` in a terminal of its own."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, expected: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not matches(expected, self.lines[: len(expected)]):
            if self.proc.poll() is not None:
                self._reader.join(2)
                if matches(expected, self.lines[: len(expected)]):
                    return
                raise AssertionError(
                    f"exited ({self.proc.returncode}) before showing {expected}:\n"
                    + "\n".join(self.lines)
                )
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"no {expected} after {timeout} s; it printed:\n" + "\n".join(self.lines)
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"still running {timeout} s after SIGINT:\n" + "\n".join(self.lines)
            ) from None


def test_the_tutorial_has_every_step_the_test_relies_on() -> None:
    """The convention above still matches the page: a reworded fence would silently skip steps."""
    steps = parse(TUTORIAL.read_text(encoding="utf-8"))
    files = [step.name for step in steps if isinstance(step, WriteFile)]
    commands = [shlex.split(step.command)[:2] for step in steps if isinstance(step, Run)]
    assert files == ["greeter.yaml", "service.py", "client.py"]
    assert ["leveret", "generate"] in commands
    assert ["leveret", "serve"] in commands
    assert ["python", "client.py"] in commands
    assert commands.count(["leveret", "call"]) == 4
    assert sum(isinstance(step, StopServe) for step in steps) == 1
    assert all(step.expected for step in steps if isinstance(step, Run))


def test_matching_of_shown_output() -> None:
    assert matches(["a ... c"], ["a b b c"])
    assert not matches(["a ... c"], ["a b b d"])
    assert not matches(["a"], ["a", "b"])
    assert matches(["x(1)"], ["x(1)"])


def _delete_queue(amqp_url: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        connection.channel().queue_delete(TUTORIAL_QUEUE)
    finally:
        connection.close()


@pytest.mark.integration
def test_the_tutorial_runs_as_written(amqp_url: str, tmp_path: Path) -> None:
    steps = parse(TUTORIAL.read_text(encoding="utf-8"))
    env = {**os.environ, "AMQP_URL": amqp_url, "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    _delete_queue(amqp_url)
    serve: Background | None = None
    try:
        for step in steps:
            if isinstance(step, WriteFile):
                (tmp_path / step.name).write_text(step.text, encoding="utf-8")
            elif isinstance(step, StopServe):
                assert serve is not None, "the page stops a worker it never started"
                status = serve.stop()
                assert status == 0, "\n".join(serve.lines)
                serve = None
            elif step.command.startswith("leveret serve"):
                assert serve is None, "a second worker; the test runs one at a time"
                serve = Background(argv(step.command), tmp_path, env)
                serve.wait_for(step.expected)
            else:
                done = subprocess.run(
                    argv(step.command),
                    cwd=tmp_path,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                shown = (done.stdout + done.stderr).splitlines()
                assert matches(step.expected, shown), (
                    f"$ {step.command}\nexpected:\n"
                    + "\n".join(step.expected)
                    + "\ngot:\n"
                    + "\n".join(shown)
                )
                assert done.returncode == step.status, (step.command, done.stderr)
        assert serve is None, "the tutorial leaves its worker running"
    finally:
        if serve is not None:
            serve.stop()
        _delete_queue(amqp_url)
