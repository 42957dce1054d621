"""What issue 11's generated models cost: ``model_validate_json(body, strict=True)``, old vs new.

The old models are the ones checked in at commit 31cc128 (before issue 11: plain ``int``,
pydantic's ``UUID``/``AwareDatetime``/``date``/``EmailStr``/``AnyUrl``); the new ones are the
working tree's ``generated/*/models.py``. Both are loaded side by side under different module
names and fed the same realistic, valid JSON body per request and response type of the example
services (calculator, shop, library). Each round times every case, old and new interleaved (the
order alternates per round), and a case's figure is its best round: on a shared 2-core machine
the minimum is the least noisy estimate of what the code costs.

Also reported, not compared with the old models: the guarded types of the golden ``keywords``
definition (``tests/golden/expected/keywords/models.py``), with and without the schema guard
(``_leveret_schema`` / ``_SCHEMA.before``) removed from the source, which gives the guard's own
cost; and ``jsonschema`` (Draft 2020-12 with format assertion) validating the same bodies
against the definitions' JSON Schema, as a reference point.

    .venv/bin/python bench/model_validation.py              # ~10 s
    .venv/bin/python bench/model_validation.py --rounds 3   # quicker, noisier
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import platform
import re
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parent.parent
OLD_COMMIT = "31cc128"
PACKAGES = {"calculator": "calculator.yaml", "shop": "inventory.yaml", "library": "library.yaml"}
KEYWORDS_MODELS = ROOT / "tests" / "golden" / "expected" / "keywords" / "models.py"
KEYWORDS_DEFINITION = ROOT / "tests" / "golden" / "definitions" / "keywords.yaml"

# -- realistic bodies ------------------------------------------------------------------------------

_AUTHOR = {"name": "Ursula K. Le Guin", "born": "1929-10-21"}
_BOOK = {
    "id": "3f2c8a4e-6b1d-4c7e-9a5f-2d8b7e1c0a94",
    "isbn": "9780441478125",
    "title": "The Left Hand of Darkness",
    "subtitle": None,
    "authors": [_AUTHOR],
    "genre": "fiction",
    "published": 1969,
    "copies": 4,
    "tags": ["classic", "science fiction", "hugo"],
    "cover": "https://covers.example.org/9780441478125.jpg",
}
_LOAN = {
    "id": "0b7e5c1a-9d24-4f3b-8e6a-5c1d2f3a4b5c",
    "book": _BOOK,
    "member_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "borrowed_at": "2026-11-20T14:32:05Z",
    "due": "2026-12-04",
    "returned_at": None,
    "renewals": 1,
}


def _books(n: int) -> list[dict[str, Any]]:
    return [{**_BOOK, "id": f"3f2c8a4e-6b1d-4c7e-9a5f-{i:012x}", "copies": i % 5} for i in range(n)]


@dataclass(frozen=True)
class Case:
    package: str
    model: str
    role: str  # "request" / "response"
    typical: bool  # a typical request: what the +10 % criterion is about
    body: dict[str, Any]


CASES = [
    Case("calculator", "Operands", "request", True, {"a": 12.5, "b": 30.25}),
    Case("calculator", "SumRequest", "request", True, {"values": [1.5, 2.0, 3.25, 4.0, 5.5, 6.0]}),
    Case("calculator", "Result", "response", False, {"value": 42.75}),
    Case(
        "shop",
        "ReserveRequest",
        "request",
        True,
        {"sku": "ABC-1234", "quantity": 3, "note": "gift wrap"},
    ),
    Case(
        "shop",
        "Reservation",
        "response",
        False,
        {
            "id": "c56a4180-65aa-42ec-a945-5fd21dec0538",
            "sku": "ABC-1234",
            "quantity": 3,
            "status": "held",
            "price": {"amount": 2999, "currency": "EUR"},
        },
    ),
    Case(
        "library",
        "SearchBooksRequest",
        "request",
        True,
        {"query": "le guin", "genre": "fiction", "limit": 10},
    ),
    Case(
        "library", "GetBookRequest", "request", True, {"id": "3f2c8a4e-6b1d-4c7e-9a5f-2d8b7e1c0a94"}
    ),
    Case(
        "library",
        "BorrowBookRequest",
        "request",
        True,
        {
            "book_id": "3f2c8a4e-6b1d-4c7e-9a5f-2d8b7e1c0a94",
            "member_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "days": 21,
        },
    ),
    Case(
        "library",
        "ReturnBookRequest",
        "request",
        True,
        {"loan_id": "0b7e5c1a-9d24-4f3b-8e6a-5c1d2f3a4b5c"},
    ),
    Case(
        "library",
        "RegisterMemberRequest",
        "request",
        True,
        {"name": "Ada Lovelace", "email": "ada.lovelace@example.org"},
    ),
    Case(
        "library",
        "SearchBooksResponse",
        "response",
        False,
        {"books": _books(10), "next_cursor": "b2Zmc2V0PTEw"},
    ),
    Case("library", "Book", "response", False, _BOOK),
    Case("library", "Loan", "response", False, _LOAN),
    Case(
        "library",
        "Member",
        "response",
        False,
        {
            "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "name": "Ada Lovelace",
            "email": "ada.lovelace@example.org",
            "joined": "2026-01-15T09:00:00+01:00",
            "status": "active",
            "notifications": {"email": True, "sms": False},
        },
    ),
]

# Guarded types of the golden keywords definition (new models only): class name, body.
KEYWORD_CASES: list[tuple[str, dict[str, Any]]] = [
    ("Card", {"number": "4111111111111111", "cvv": "123", "billing": "1 Main St"}),
    ("Shipping", {"country": "US", "postcode": "94103"}),
    ("Env", {"name": "prod", "X_REGION": "eu-west-1", "X_TIER": "gold"}),
    (
        "Formats",
        {
            "at": "2026-12-04T22:00:00Z",
            "day": "2026-12-04",
            "clock": "22:00:00Z",
            "span": "P1DT2H",
            "mail": "ops@example.org",
            "host": "broker.example.org",
            "v4": "192.0.2.10",
            "v6": "2001:db8::1",
            "link": "https://example.org/a?b=c",
            "ref": "../a/b#c",
            "id": "c56a4180-65aa-42ec-a945-5fd21dec0538",
        },
    ),
    (
        "Everything",
        {
            "tags": ["a", "b", "c"],
            "point": [1.0, 2.0],
            "name": "alice",
            "shipping": {"country": "US", "postcode": "94103"},
            "card": {"number": "4111", "cvv": "123"},
            "count": 3,
            "limit": 7,
        },
    ),
]

# -- loading the models ----------------------------------------------------------------------------


def _load(name: str, source: str, folder: Path) -> ModuleType:
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the postponed annotations through it
    spec.loader.exec_module(module)
    return module


def _unguarded(source: str) -> str:
    """The keywords models with their schema guards taken out (the fields alone)."""
    source = re.sub(r"\n    _leveret_schema = _SCHEMA\.model_validator\(\"\w+\"\)\n", "\n", source)
    return re.sub(r"_SCHEMA\.before\(\"\w+\"\)\]", "Field()]", source)


def _json_schemas(paths: list[Path]) -> dict[str, dict[str, Any]]:
    from leveret_codegen._frontend import load_services

    services, diagnostics = load_services(paths)
    assert services, [d.render() for d in diagnostics]
    return {service.package: json.loads(service.models_schema)["$defs"] for service in services}


# -- timing ----------------------------------------------------------------------------------------


def _per_call(fn: Callable[[], object], target: float = 0.02) -> int:
    """Calls per sample so that a sample lasts about ``target`` seconds."""
    n = 1
    while True:
        elapsed = timeit.timeit(fn, number=n)
        if elapsed >= target / 4:
            return max(1, int(n * target / elapsed))
        n *= 4


def _bench(
    variants: dict[str, dict[str, Callable[[], object]]], rounds: int
) -> dict[str, dict[str, float]]:
    """Best ns/call per case and variant; variants of one case interleaved, order alternating."""
    numbers = {case: {v: _per_call(fn) for v, fn in fns.items()} for case, fns in variants.items()}
    best: dict[str, dict[str, float]] = {case: {} for case in variants}
    for r in range(rounds):
        for case, fns in variants.items():
            order = list(fns) if r % 2 == 0 else list(reversed(fns))
            for v in order:
                n = numbers[case][v]
                ns = timeit.timeit(fns[v], number=n) / n * 1e9
                best[case][v] = min(best[case].get(v, math.inf), ns)
    return best


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=7, help="interleaved rounds (best one counts)"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="lv-model-bench-"))
    old: dict[str, ModuleType] = {}
    new: dict[str, ModuleType] = {}
    for pkg in PACKAGES:
        old_source = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:generated/{pkg}/models.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        old[pkg] = _load(f"lvbench_old_{pkg}", old_source, folder)
        new[pkg] = _load(
            f"lvbench_new_{pkg}", (ROOT / "generated" / pkg / "models.py").read_text(), folder
        )
    kw_source = KEYWORDS_MODELS.read_text()
    kw_guarded = _load("lvbench_kw_guarded", kw_source, folder)
    kw_plain = _load("lvbench_kw_plain", _unguarded(kw_source), folder)

    defs = _json_schemas([ROOT / "schemas" / f for f in PACKAGES.values()] + [KEYWORDS_DEFINITION])
    kw_package = next(p for p in defs if p not in PACKAGES)
    fmt = Draft202012Validator.FORMAT_CHECKER

    def validator(pkg: str, name: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$defs": defs[pkg], "$ref": f"#/$defs/{name}"}, format_checker=fmt
        )

    variants: dict[str, dict[str, Callable[[], object]]] = {}
    for case in CASES:
        body = json.dumps(case.body)
        o = getattr(old[case.package], case.model)
        n = getattr(new[case.package], case.model)
        js = validator(case.package, case.model)
        for model in (o, n):
            model.model_validate_json(body, strict=True)  # valid for both, or the bench is wrong
        assert not list(js.iter_errors(case.body)), case.model
        variants[f"{case.package}.{case.model}"] = {
            "old": lambda m=o, b=body: m.model_validate_json(b, strict=True),
            "new": lambda m=n, b=body: m.model_validate_json(b, strict=True),
            "jsonschema": lambda v=js, b=body: v.is_valid(json.loads(b)),
        }
    for name, instance in KEYWORD_CASES:
        body = json.dumps(instance)
        g = getattr(kw_guarded, name)
        p = getattr(kw_plain, name)
        js = validator(kw_package, name)
        g.model_validate_json(body, strict=True)
        p.model_validate_json(body, strict=True)
        assert not list(js.iter_errors(instance)), name
        variants[f"keywords.{name}"] = {
            "unguarded": lambda m=p, b=body: m.model_validate_json(b, strict=True),
            "guarded": lambda m=g, b=body: m.model_validate_json(b, strict=True),
            "jsonschema": lambda v=js, b=body: v.is_valid(json.loads(b)),
        }

    best = _bench(variants, args.rounds)

    print(
        f"# model_validate_json(body, strict=True), ns/call, best of {args.rounds} "
        f"interleaved rounds; {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, pydantic {pydantic.VERSION}; "
        f"old = {OLD_COMMIT}, new = working tree"
    )
    print()
    print("| model | role | body B | old | new | new/old | jsonschema | jsonschema/new |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    typical: list[float] = []
    every: list[float] = []
    for case in CASES:
        b = best[f"{case.package}.{case.model}"]
        ratio = b["new"] / b["old"]
        every.append(ratio)
        if case.typical:
            typical.append(ratio)
        role = case.role + (" (typical)" if case.typical else "")
        size = len(json.dumps(case.body))
        print(
            f"| {case.package}.{case.model} | {role} | {size} | {b['old']:,.0f} | "
            f"{b['new']:,.0f} | **{ratio:.2f}** | {b['jsonschema']:,.0f} | "
            f"{b['jsonschema'] / b['new']:.1f}x |"
        )
    print()
    print(
        f"geometric mean new/old: typical requests {_geomean(typical):.3f}, "
        f"every case {_geomean(every):.3f}"
    )
    print(f"typical requests over +10 %: {sum(r > 1.10 for r in typical)} of {len(typical)}")
    print()
    print("| keywords type (new only) | unguarded | guarded | guard costs | jsonschema |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in KEYWORD_CASES:
        b = best[f"keywords.{name}"]
        print(
            f"| {name} | {b['unguarded']:,.0f} | {b['guarded']:,.0f} | "
            f"+{b['guarded'] - b['unguarded']:,.0f} | {b['jsonschema']:,.0f} |"
        )


if __name__ == "__main__":
    main()
