"""Suggestions ("did you mean") for unknown method names, $ref types and error names."""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret._cli import main
from leveret_codegen._frontend import load_services
from leveret_codegen._suggest import closest
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("name", "known", "guess"),
    [
        ("SKU", ["Item", "Sku"], "Sku"),
        ("getuser", ["getUser", "list"], "getUser"),
        ("ad", ["add", "divide", "sum"], "add"),
        ("OutOfStok", ["OutOfStock"], "OutOfStock"),
        ("zzz", ["add", "divide"], None),
    ],
)
def test_closest(name: str, known: list[str], guess: str | None) -> None:
    assert closest(name, known) == guess


def test_call_suggests_the_method(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["call", str(ROOT / "schemas" / "calculator.yaml"), "ad", "{}"])
    assert status == 2
    assert capsys.readouterr().err == (
        "leveret call: Calculator has no method 'ad' (did you mean 'add'?) "
        "(it has: add, divide, sum)\n"
    )


def test_unknown_ref_suggests_the_type(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text("leveret: 1\ntypes:\n  Money: {type: object}\n")
    (tmp_path / "shop.yaml").write_text(
        "leveret: 1\npackage: shop\nservice: Shop\ntypes:\n  Sku: {type: string}\n"
        "methods:\n  get:\n"
        "    request: {type: object, properties: {sku: {$ref: '#/types/SKU'}}}\n"
        "    response: {$ref: 'lib.yaml#/types/Mony'}\n"
    )
    _, diagnostics = load_services([tmp_path / "shop.yaml"])
    hints = sorted((d.code, d.hint) for d in diagnostics)
    assert hints == [
        ("LV301", "did you mean 'Sku'? types of this file: Sku"),
        ("LV303", "did you mean 'Money'? its types: Money"),
    ]
