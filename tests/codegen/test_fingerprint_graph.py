"""Fingerprints of large reference graphs: linear in the graph, not in its expansion.

Types T0..Tn, each with two properties referring to the next, expand to 2**n copies of Tn; a
2.7 KB reflected document of that shape used to hang every ``queue:`` command (r12 finding 1).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from leveret_codegen._contract import contract_fingerprints
from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.findings import Finding
from leveret_codegen._review.sources import FileReader, Side, load_side

Definition = dict[str, object]


def _definition(types: dict[str, object], root: str = "T0") -> Definition:
    return {
        "leveret": 1,
        "package": "dag",
        "service": "Dag",
        "version": "1.0.0",
        "queue": "dag.Dag",
        "types": types,
        "methods": {"m": {"request": {"$ref": f"#/types/{root}"}, "response": {"type": "object"}}},
    }


def _dag(depth: int, leaf: str = "string", prefix: str = "T") -> Definition:
    def ref(i: int) -> dict[str, str]:
        return {"$ref": f"#/types/{prefix}{i}"}

    types: dict[str, object] = {
        f"{prefix}{i}": {"type": "object", "properties": {"a": ref(i + 1), "b": ref(i + 1)}}
        for i in range(depth)
    }
    types[f"{prefix}{depth}"] = {"type": leaf}
    return _definition(types, f"{prefix}0")


def _layered(layers: int, leaf: str = "string") -> Definition:
    """Two types per layer, each referring to both of the next; the last refers back to all:
    every path through the cycle is different, so no expansion can be shared."""
    types: dict[str, object] = {}
    for i in range(layers):
        for x in "AB":
            props: dict[str, object]
            if i + 1 < layers:
                props = {"a": {"$ref": f"#/types/A{i + 1}"}, "b": {"$ref": f"#/types/B{i + 1}"}}
            else:
                props = {f"{y}{j}": {"$ref": f"#/types/{y}{j}"} for j in range(i) for y in "AB"}
                props["leaf"] = {"type": leaf}
            types[f"{x}{i}"] = {"type": "object", "properties": props}
    return _definition(types, "A0")


def _resolutions(monkeypatch: pytest.MonkeyPatch, definition: Definition) -> int:
    """How many references computing the fingerprints resolved."""
    from leveret_codegen import _contract

    calls = 0
    original = _contract._Document.follow

    def counting(self: object, schema: object) -> object:
        nonlocal calls
        calls += 1
        return original(self, schema)  # type: ignore[arg-type]

    monkeypatch.setattr(_contract._Document, "follow", counting)
    contract_fingerprints(definition, "dag.Dag")
    return calls


def test_a_dag_is_fingerprinted_in_time_linear_in_its_types(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_10 = _resolutions(monkeypatch, _dag(10))
    at_20 = _resolutions(monkeypatch, _dag(20))
    at_40 = _resolutions(monkeypatch, _dag(40))
    # exponential: x1024 from 10 to 20 (and 2**40 at 40); linear: x2
    assert at_20 <= 3 * at_10
    assert at_40 <= 3 * at_20


def test_a_cycle_with_every_path_different_is_fingerprinted_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at_16 = _resolutions(monkeypatch, _layered(16))
    assert at_16 <= 200_000  # 2**16 paths, each through 16 layers, without the bound


def test_equal_structures_keep_equal_fingerprints_past_the_size_bound() -> None:
    # 2**12 leaves: past the size at which a form is written as its hash
    base = contract_fingerprints(_dag(12), "dag.Dag").methods["m"]
    renamed = contract_fingerprints(_dag(12, prefix="Renamed"), "dag.Dag").methods["m"]
    assert renamed == base
    inlined = _dag(12)
    types = inlined["types"]
    assert isinstance(types, dict)
    t11 = copy.deepcopy(types["T11"])
    t11["properties"]["a"] = {"type": "string"}
    t11["properties"]["b"] = {"type": "string"}
    types["T11"] = t11  # a reference replaced by what it refers to
    assert contract_fingerprints(inlined, "dag.Dag").methods["m"] == base
    changed = contract_fingerprints(_dag(12, leaf="integer"), "dag.Dag").methods["m"]
    assert changed != base


def test_a_hostile_cycle_still_changes_its_fingerprint_with_its_content() -> None:
    one = contract_fingerprints(_layered(16), "dag.Dag").methods["m"]
    again = contract_fingerprints(_layered(16), "dag.Dag").methods["m"]
    other = contract_fingerprints(_layered(16, leaf="integer"), "dag.Dag").methods["m"]
    assert one == again != other


def _breaking(tmp_path: Path, old: Definition, new: Definition) -> list[Finding]:
    import json

    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    sides = [load_side(FileReader(), [str(tmp_path / n)]) for n in ("old.json", "new.json")]
    return compare_sides(sides[0], sides[1])


def _breaking_resolutions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, depth: int
) -> tuple[int, list[Finding]]:
    calls = 0
    original = Side.follow

    def counting(self: Side, schema: object) -> object:
        nonlocal calls
        calls += 1
        return original(self, schema)  # type: ignore[arg-type]

    monkeypatch.setattr(Side, "follow", counting)
    folder = tmp_path / str(depth)
    folder.mkdir()
    findings = _breaking(folder, _dag(depth), _dag(depth, leaf="integer"))
    return calls, findings


def test_breaking_on_a_dag_pair_is_linear_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at_10, _ = _breaking_resolutions(monkeypatch, tmp_path, 10)
    at_20, findings = _breaking_resolutions(monkeypatch, tmp_path, 20)
    assert at_20 <= 3 * at_10
    assert [f.rule for f in findings] == ["PROPERTY_TYPE_CHANGED"]


def test_a_default_beside_a_ref_is_part_of_the_fingerprint() -> None:
    def with_default(value: object) -> Definition:
        definition = _definition(
            {
                "Note": {"type": "string"},
                "Request": {
                    "type": "object",
                    "properties": {"note": {"$ref": "#/types/Note", "default": value}},
                },
            },
            "Request",
        )
        return definition

    gift = contract_fingerprints(with_default("gift wrap"), "q").methods["m"]
    plain = contract_fingerprints(with_default("no wrap"), "q").methods["m"]
    assert gift != plain


def test_numbers_are_fingerprinted_as_json_compares_them() -> None:
    def with_maximum(value: object) -> Definition:
        return _definition({"T0": {"type": "integer", "maximum": value, "default": value}})

    whole = contract_fingerprints(with_maximum(1000), "q").methods["m"]
    assert contract_fingerprints(with_maximum(1000.0), "q").methods["m"] == whole
    assert contract_fingerprints(with_maximum(1000.5), "q").methods["m"] != whole
