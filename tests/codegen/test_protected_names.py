"""Review r11b (low): a property named after a ``BaseModel`` attribute imports without a warning.

dmcg renames ``model_dump`` to ``model_dump_`` (aliased ``model_dump``), which shadows nothing,
but pydantic warned at import that the name is in its protected namespace ``model_dump``. The
generated class now says ``protected_namespaces=()``; the wire name is unchanged.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.generated import generate_into

DEFINITION = """\
leveret: 1
package: protected_names
service: Protected
version: "1"
types:
  Names:
    type: object
    properties:
      model_dump: {type: string}
      model_validate_json: {type: string}
      model_config: {type: string}
      copy: {type: integer}
methods:
  echo:
    request: {$ref: "#/types/Names"}
    response: {$ref: "#/types/Names"}
"""


@pytest.fixture
def package(tmp_path: Path) -> Iterator[ModuleType]:
    definition = tmp_path / "protected_names.yaml"
    definition.write_text(DEFINITION)
    generate_into([definition], tmp_path / "out")
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the UserWarning fails the import
            yield importlib.import_module("protected_names")
    finally:
        sys.path.remove(str(tmp_path / "out"))
        for name in [m for m in sys.modules if m.split(".")[0] == "protected_names"]:
            del sys.modules[name]


def test_a_property_named_model_dump_imports_quietly_and_keeps_its_wire_name(
    package: ModuleType,
) -> None:
    names = package.Names.model_validate_json(
        '{"model_dump": "a", "model_validate_json": "b", "model_config": "c", "copy": 1}',
        strict=True,
    )
    assert (names.model_dump_, names.model_validate_json_, names.copy_) == ("a", "b", 1)
    assert names.model_dump(by_alias=True) == {
        "model_dump": "a",
        "model_validate_json": "b",
        "model_config": "c",
        "copy": 1,
    }
