"""What the contract-drift tests read: the drift each call showed middleware, and the drift
WARNING records of one side's logger."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel

import leveret

__all__ = ["Seen", "drift_warnings"]


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
