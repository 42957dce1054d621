"""Guarded recursive types cost time linear in the body, not depth x size (review r11 F8).

Each nesting level of a guarded recursive type runs its guard, and a guard whose schema refers
to a type (under ``oneOf``, beside ``unevaluatedProperties``...) evaluates that type over the
whole subtree; ``uniqueItems``/``enum``/``const`` canonicalise the whole subtree. A 2.2 MiB body
90 levels deep took 26 s. Now one validation opens a :class:`leveret._schema.Scope` in which each
(value, schema) pair is evaluated once. The work is counted, not timed: the Python calls into the
evaluator and the guards for bodies of the same size and different depths.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import FrameType, ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

import leveret._schema
import leveret.schema
from leveret._schema import SCOPE
from tests.support.generated import imported
from tests.support.guarded_recursion import definition, json_chain, list_chain, tree_chain

#: leaves per body: the same at every depth
LEAVES = 3000


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("guardscope")
    path = out / "guardscope.yaml"
    path.write_text(definition("guardscope"))
    with imported([path], out, "guardscope.models") as module:
        yield module


def _json(depth: int) -> Any:
    return json_chain(depth, LEAVES)


def _tree(depth: int) -> Any:
    return tree_chain(depth, LEAVES)


def _lists(depth: int) -> Any:
    return list_chain(depth, LEAVES)


BODIES: dict[str, Callable[[int], Any]] = {
    "json": _json,
    "sealed": _tree,
    "unique": _tree,
    "lists": _lists,
}
_WATCHED = {leveret._schema.__file__, leveret.schema.__file__}


def _calls(run: Callable[[], object]) -> int:
    """How many Python functions of the evaluator and the guards ``run`` calls."""
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event == "call" and frame.f_code.co_filename in _WATCHED:
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("field", list(BODIES))
@pytest.mark.parametrize("mode", ["json", "python"])
def test_a_deep_body_costs_no_more_than_a_shallow_one_of_its_size(
    models: ModuleType, field: str, mode: str
) -> None:
    holder = models.Holder
    bodies = {depth: {field: BODIES[field](depth)} for depth in (3, 60)}

    def validate(depth: int) -> Callable[[], object]:
        if mode == "json":
            text = json.dumps(bodies[depth])
            return lambda: holder.model_validate_json(text, strict=True)
        return lambda: holder.model_validate(bodies[depth])

    shallow, deep = _calls(validate(3)), _calls(validate(60))
    # Before the fix the deep body cost ~10x the shallow one (depth x size); now about the same.
    assert deep < 1.5 * shallow, (shallow, deep)
    assert SCOPE.get() is None


@pytest.mark.parametrize("mode", ["json", "python"])
def test_a_deep_failure_is_still_found(models: ModuleType, mode: str) -> None:
    """The kept verdicts change no verdict: a deep duplicate, a deep extra property, a deep value
    matching two oneOf branches are refused, at their place."""
    holder = models.Holder
    duplicate = _tree(40)
    node = duplicate
    for _ in range(30):
        node = node["kids"][-1]
    node["kids"].append(dict(node["kids"][0]))
    sealed = _tree(40)
    node = sealed
    for _ in range(30):
        node = node["kids"][-1]
    node["extra"] = 1
    nested = _lists(40)
    node = nested
    for _ in range(30):
        node = node[-1]
    node.append(node[0])
    for body, says in (
        ({"unique": duplicate}, "uniqueItems"),
        ({"sealed": sealed}, "unevaluatedProperties"),
        ({"lists": nested}, "uniqueItems"),
    ):
        with pytest.raises(ValidationError) as caught:
            if mode == "json":
                holder.model_validate_json(json.dumps(body), strict=True)
            else:
                holder.model_validate(body)
        assert says in str(caught.value)
        assert SCOPE.get() is None  # reset after a failure too
    assert holder.model_validate_json(json.dumps({"json": _json(40)})).json_ is not None


def test_threads_validating_at_once_get_their_own_verdicts(models: ModuleType) -> None:
    """The scope is a context variable: each thread's validation has its own, and none is left
    behind."""
    holder = models.Holder
    good = json.dumps({"unique": _tree(20)})
    bad_tree = _tree(20)
    bad_tree["kids"].append(dict(bad_tree["kids"][0]))
    bad = json.dumps({"unique": bad_tree})
    start = threading.Barrier(8)

    def validate(index: int) -> tuple[bool, bool]:
        start.wait()
        verdicts = []
        for round_ in range(20):
            try:
                holder.model_validate_json(good if (index + round_) % 2 else bad, strict=True)
            except ValidationError:
                verdicts.append(not (index + round_) % 2)
            else:
                verdicts.append(bool((index + round_) % 2))
        return all(verdicts), SCOPE.get() is None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(validate, range(8)))
    assert results == [(True, True)] * 8
