"""What the OK-reply re-check costs: ``encode_result`` with and without it, in one run.

Commit 309a5ee (review r11 F9) made ``leveret._codec.encode_result`` validate the body it
encodes as the caller's client will (``model_validate_json(body, strict=True)``), so that a
``model_construct``'ed or mutated response model never goes out as a reply its schema forbids.
This bench times, for typical responses of the example services (``generated/``), the real
``encode_result`` against the same steps without that last validation (the encoding before
309a5ee: dump by alias, the NaN/infinity look-up). Rounds alternate the two; a case's figure is
its best round (the least noisy estimate on a shared machine). It is a ratio measured in one
run, not an absolute figure.

    .venv/bin/python bench/reply_recheck.py              # ~15 s
    .venv/bin/python bench/reply_recheck.py --rounds 3   # quicker, noisier
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import math
import platform
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generated"))
sys.path.insert(0, str(ROOT / "bench"))

from model_validation import CASES  # noqa: E402

from leveret import MethodSpec  # noqa: E402
from leveret._codec import _refuse_non_finite, encode_result  # noqa: E402


def _responses() -> list[tuple[MethodSpec[Any, Any], dict[str, Any]]]:
    """model_validation's response bodies, each with a method of its service answering it."""
    found = []
    for case in CASES:
        if case.role != "response":
            continue
        spec = importlib.import_module(f"{case.package}._spec")
        method = next(m for m in spec._METHODS if m.response.__name__ == case.model)
        found.append((method, case.body))
    return found


def _without_recheck(method: MethodSpec[Any, Any], result: pydantic.BaseModel) -> bytes:
    """``encode_result`` as it was before 309a5ee (the response model already validated)."""
    body = result.model_dump_json(by_alias=True).encode()
    if b"null" in body or b"NaN" in body or b"Infinity" in body:
        _refuse_non_finite(f"handler of {method.name!r} returned", result)
    return body


def _runs(
    method: MethodSpec[Any, Any], result: pydantic.BaseModel
) -> dict[str, Callable[[], bytes]]:
    return {
        "with": lambda: encode_result(method, result),
        "without": lambda: _without_recheck(method, result),
    }


def _per_call(fn: Callable[[], object], number: int) -> float:
    return timeit.timeit(fn, number=number) / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    rows = []
    for method, body in _responses():
        package = method.response.__module__.split(".")[0]  # generated/<package>/models.py
        result = method.response.model_validate(body)
        runs = _runs(method, result)
        assert runs["with"]() == runs["without"]()
        number = max(200, int(0.05 / (timeit.timeit(runs["with"], number=50) / 50)))
        best = {"with": math.inf, "without": math.inf}
        for round_ in range(args.rounds):
            for which in ("with", "without") if round_ % 2 == 0 else ("without", "with"):
                best[which] = min(best[which], _per_call(runs[which], number))
        size = len(_without_recheck(method, result))
        rows.append((f"{package}.{method.response.__name__}", size, best["without"], best["with"]))
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"# encode_result of an OK reply, ns/call, best of {args.rounds} interleaved rounds; "
        f"{now}, Python {platform.python_version()}, pydantic {pydantic.VERSION}\n"
    )
    print(
        "| response | body B | without re-check | with re-check | re-check costs | with/without |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for label, size, without, with_ in rows:
        ratios.append(with_ / without)
        print(
            f"| {label} | {size} | {without:,.0f} | {with_:,.0f} | +{with_ - without:,.0f} "
            f"| **{with_ / without:.2f}** |"
        )
    mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"\ngeometric mean with/without: {mean:.2f}")


if __name__ == "__main__":
    main()
