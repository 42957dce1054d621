"""Hostile bodies against a real worker: schema checks cost time linear in the body.

Issue 11 review r11 (F1, F2, F5, F8): a worker validates a request on its I/O loop thread, so a
body that costs the evaluator seconds holds every request behind it (and a backtracking regex
holds the GIL). Each hostile body here took the worker minutes to hours before the fixes: ~4 MiB
of failing array items or unknown keys, ~4 MiB of integers colliding in Python's int hash under
``uniqueItems``, a 60-byte property name against ``^(a|aa)+$``, a 29-character string over its
field's ``maxLength`` against a lookahead pattern (review r11b item 6: the generated guard ran the
pattern before pydantic checked the length, ~8 s); and 0.5 MB of guarded recursive
types 90 levels deep, whose guards checked the subtree again at every level (F8: over 10 s). Now
each is refused (or accepted) in well under the bound, and a small request published right after
it is answered within the bound too. Setup as in ``test_schema_keywords.py``: generated packages, an
in-process ``leveret.Worker``, a raw pika peer.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.generated import generate_into
from tests.support.guarded_recursion import definition as recursive_definition
from tests.support.guarded_recursion import json_chain, tree_chain
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = ROOT / "tests" / "golden" / "definitions" / "keywords.yaml"
PATTERNS = """\
leveret: 1
package: evaldos
service: EvalDos
version: "1"
types:
  Keys:
    type: object
    properties:
      names:
        type: object
        propertyNames: {pattern: "^(a|aa)+$"}
      matched:
        type: object
        patternProperties: {"^(a|aa)+$": {type: string}}
      code:
        type: string
        maxLength: 20
        pattern: "^(?!x)(a+)+$"
methods:
  echo:
    request: {$ref: "#/types/Keys"}
    response: {$ref: "#/types/Keys"}
"""

#: nesting of the F8 bodies (pydantic's parser allows 200)
DEPTH = 90
#: size of the F8 bodies: about 0.5 MB (each took the worker over 10 s before the fix)
DEEP_SIZE = 500_000

#: answering a hostile body, or a small request queued behind it, must take less than this
BOUND = 5.0
#: under leveret's default max_message_size (4 MiB)
SIZE = 4_000_000
_M = 2**61 - 1
_EVIL = "a" * 60 + "b"
#: over ``code``'s maxLength, and about 8 s of backtracking for its lookahead pattern (four times
#: more per two characters): the pattern ran on it before the guard checked the length first
_LOOKAROUND_EVIL = "a" * 28 + "!"


def _load(definitions: list[Path], package: str, out: Path) -> ModuleType:
    generate_into(definitions, out)
    sys.path.insert(0, str(out))
    return importlib.import_module(package)


def _unload(package: str, out: Path) -> None:
    sys.path.remove(str(out))
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    out = tmp_path_factory.mktemp("evaldos")
    definition = out / "evaldos.yaml"
    definition.write_text(PATTERNS)
    deep = out / "evaldeep.yaml"
    deep.write_text(recursive_definition("evaldeep"))
    try:
        yield {
            "keywords": _load([KEYWORDS], "keywords", out / "keywords"),
            "evaldos": _load([definition], "evaldos", out / "evaldos"),
            "evaldeep": _load([deep], "evaldeep", out / "evaldeep"),
        }
    finally:
        _unload("keywords", out / "keywords")
        _unload("evaldos", out / "evaldos")
        _unload("evaldeep", out / "evaldeep")


def _echo_worker(base: type, amqp_url: str, queue: str) -> leveret.Worker:
    def echo(self: Any, request: Any, context: leveret.CallContext) -> Any:
        return request

    servicer = type("Echo", (base,), {"echo": echo})()
    return leveret.Worker(servicer, url=amqp_url, queue=queue)


def _many(item: str, prefix: str, suffix: str) -> bytes:
    count = (SIZE - len(prefix) - len(suffix)) // (len(item) + 1)
    return (prefix + ",".join([item] * count) + suffix).encode()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _unique_colliding() -> bytes:
    values: list[int] = []
    size = 12
    k = 1
    while size < SIZE - 30:
        values.append(k * _M)
        size += len(str(k * _M)) + 1
        k += 1
    return _compact({"tags": values})


HOSTILE: dict[str, tuple[str, Any, str, str]] = {
    # id: (package, body maker, expected status, what the refusal names)
    "failing-items": (
        "keywords",
        lambda: _many("1", '{"versioned":[1,', "]}"),
        "INVALID_ARGUMENT",
        "(type)",
    ),
    "items-false": (
        "keywords",
        lambda: _many("1", '{"point":[1,', "]}"),
        "INVALID_ARGUMENT",
        "(false)",
    ),
    "unknown-keys": (
        "keywords",
        lambda: _compact({"env": {f"k{i}": 1 for i in range(SIZE // 13)}}),
        "INVALID_ARGUMENT",
        "(additionalProperties)",
    ),
    "unique-colliding": ("keywords", _unique_colliding, "INVALID_ARGUMENT", "valid string"),
    "redos-propertyNames": (
        "evaldos",
        lambda: json.dumps({"names": {_EVIL: 1}}).encode(),
        "INVALID_ARGUMENT",
        "(propertyNames)",
    ),
    "redos-lookaround-maxLength": (
        "evaldos",
        lambda: json.dumps({"code": _LOOKAROUND_EVIL}).encode(),
        "INVALID_ARGUMENT",
        "longer than 20 characters (maxLength)",
    ),
    "redos-patternProperties": (
        "evaldos",
        lambda: json.dumps({"matched": {_EVIL: "x", "aaaa": "y"}}).encode(),
        "OK",
        "",
    ),
    # F8: valid, so every level's guard runs (and the echoed reply is checked again)
    "deep-oneOf": (
        "evaldeep",
        lambda: _compact({"json": json_chain(DEPTH, DEEP_SIZE // 14, first=10**12)}),
        "OK",
        "",
    ),
    "deep-unevaluatedProperties": (
        "evaldeep",
        lambda: _compact({"sealed": tree_chain(DEPTH, DEEP_SIZE // 12)}),
        "OK",
        "",
    ),
    "deep-uniqueItems": (
        "evaldeep",
        lambda: _compact({"unique": tree_chain(DEPTH, DEEP_SIZE // 12)}),
        "OK",
        "",
    ),
}
SMALL: dict[str, bytes] = {
    "keywords": b'{"tags": ["a"]}',
    "evaldos": b'{"names": {"aa": 1}}',
    "evaldeep": b'{"json": [1, {"a": 2}]}',
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_body_is_answered_quickly_and_holds_no_one(
    packages: dict[str, ModuleType], amqp_url: str, case: str
) -> None:
    package, make, status, says = HOSTILE[case]
    body = make()
    assert len(body) <= SIZE
    module = packages[package]
    base = next(v for k, v in vars(module).items() if k.endswith("Servicer"))
    queue = f"leveret.test.evaldos.{uuid.uuid4().hex[:10]}"
    peer = RawPeer(amqp_url)
    try:
        with _echo_worker(base, amqp_url, queue):
            # One channel, one queue: the small request is delivered after the hostile one.
            start = time.perf_counter()
            hostile = peer.publish(queue, body, method="echo")
            small = peer.publish(queue, SMALL[package], method="echo")
            reply = peer.wait(hostile, timeout=BOUND)
            hostile_time = time.perf_counter() - start
            after = peer.wait(small, timeout=BOUND)
            small_time = time.perf_counter() - start
        assert reply is not None, f"no answer to the hostile body within {BOUND} s"
        assert reply.status == status, reply.json()
        if says:
            assert says in reply.json()["message"]
        assert after is not None, f"the small request was held more than {BOUND} s"
        assert after.status == "OK", after.json()
        assert hostile_time < BOUND and small_time < BOUND
    finally:
        peer.ch.queue_delete(queue)
        peer.close()
