"""One call on a thread, for tests that act while it is in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Background"]


class Background:
    """Runs ``call`` on a daemon thread and keeps its result or exception."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.finished_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self.result = call()
        except BaseException as exc:
            self.error = exc
        self.finished_at = time.monotonic()

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for the call to end, whatever its outcome (see ``result`` and ``error``)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not finish"

    def join(self, timeout: float = 30.0) -> Any:
        """Wait for the call to end; its result, or its exception raised here."""
        self.wait(timeout)
        if self.error is not None:
            raise self.error
        return self.result
