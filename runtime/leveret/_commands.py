"""``leveret serve`` and ``leveret call``: filled in with the worker and the dynamic client."""

from __future__ import annotations

import argparse

__all__ = ["register_runtime_commands"]


def register_runtime_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    pass
