"""``leveret serve`` in a child process, for tests of real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from tests.conftest import ROOT

__all__ = ["Serve"]


class Serve:
    """``leveret serve`` in a child process; a thread keeps its output lines for the test."""

    def __init__(
        self, url: str, queue: str, *options: str, env: dict[str, str] | None = None
    ) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leveret",
                "serve",
                "tests.support.echo:Echo",
                "--url",
                url,
                "--queue",
                queue,
                *options,
            ],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, text: str, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < count:
            if self.proc.poll() is not None:
                self._reader.join(2)
                if self.count(text) >= count:
                    return
                raise AssertionError(
                    f"serve exited ({self.proc.returncode}) before {text!r}:\n{self.output()}"
                )
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {text!r} after {timeout} s:\n{self.output()}")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"serve still running after {timeout} s:\n{self.output()}"
            ) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
