"""What the contract-drift tests read: the drift each call showed middleware, and the drift
WARNING records of one side's logger; :func:`forget_drifts` for a test that counts warnings (a
process warns once per pair, whichever client or worker sees it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret._drift import CLIENT_DRIFTS, SERVER_DRIFTS

__all__ = ["Seen", "drift_warnings", "forget_drifts"]


class Seen(leveret.Middleware):
    """Records ``CallInfo.contract_drift`` after ``call_next`` (set by then on both sides), as a
    metrics middleware would read it."""

    def __init__(self) -> None:
        self.drifts: list[leveret.ContractDrift | None] = []

    def intercept(self, call: leveret.CallInfo, call_next: Any) -> BaseModel:
        result: BaseModel = call_next(call)
        self.drifts.append(call.contract_drift)
        return result


def drift_warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """The drift warnings ``logger`` (``leveret.server``, ``leveret.client``) logged."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == logger and r.levelno == logging.WARNING and "contract drift" in r.getMessage()
    ]


def forget_drifts() -> None:
    """Forget every pair this process's clients and workers reported: the next drift of any
    pair is warned again, as in a fresh process."""
    CLIENT_DRIFTS.forget()
    SERVER_DRIFTS.forget()
