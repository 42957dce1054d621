"""Properties named like the generated modules' own names still make working calls (issue 15, F7).

The definition is the golden case ``tests/golden/definitions/shadow.yaml``: request and error
details properties named like every module-level name of the generated package (the spec
constants ``PUT`` and ``GET``, ``SERVICE``, ``leveret``, the models, errors and classes). Before
the fix, ``put(PUT=...)`` handed the string to ``self._call`` in place of the method spec and
every call raised AttributeError; ``Nope(NopeDetails=...)`` did the same to the details model.
The golden test checks the same code with ``mypy --strict`` and ``ruff``; this one runs it,
on ``memory://``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import leveret
from tests.support.generated import imported

DEFINITION = Path(__file__).parents[1] / "golden" / "definitions" / "shadow.yaml"

_DOC = yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))
# Every property of the ``put`` request, with a value of its own.
PUT_ARGUMENTS: dict[str, Any] = {
    name: f"value of {name}"
    for name, schema in _DOC["methods"]["put"]["request"]["properties"].items()
    if schema == {"type": "string"}
}
PUT_ARGUMENTS["AwareDatetime"] = "2024-01-02T03:04:05Z"
# dmcg names the attribute ``Money_1`` (a class is called Money); the wire name stays "Money".
PUT_ARGUMENTS["Money_1"] = {"amount": 7}
# An integer (JsonInt) and a guarded array (uniqueItems): the names they import are taken.
PUT_ARGUMENTS["count"] = 3.0
PUT_ARGUMENTS["tags"] = ["a", "b"]
assert len(PUT_ARGUMENTS) == len(_DOC["methods"]["put"]["request"]["properties"])
DETAILS: dict[str, str] = {
    name: f"detail {name}"
    for name, schema in _DOC["errors"]["Nope"]["details"]["properties"].items()
    if schema == {"type": "string"}
}


@pytest.fixture(scope="module")
def shadow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    package = f"shadow_{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("shadow")
    definition = root / "shadow.yaml"
    text = DEFINITION.read_text(encoding="utf-8")
    assert "\npackage: shadow\n" in text
    definition.write_text(text.replace("\npackage: shadow\n", f"\npackage: {package}\n"))
    out = root / "out"
    with imported([definition], out, package) as module:
        yield module


@pytest.fixture
def url() -> str:
    return f"memory://{uuid.uuid4().hex}"


def make_servicer(shadow: ModuleType, seen: list[dict[str, Any]], *, async_: bool) -> Any:
    def put(request: Any) -> Any:
        seen.append(request.model_dump(mode="json", by_alias=True))
        if request.PUT == "fail":
            raise shadow.Nope("no such thing", **DETAILS)
        return shadow.Money(amount=len(request.PUT))

    def get(request: Any) -> Any:
        return shadow.GetResponse(GET=request.GET * 2)

    if async_:

        class AsyncImpl(shadow.AsyncShadowServicer):  # type: ignore[misc, name-defined]
            async def put(self, request: Any, context: leveret.CallContext) -> Any:
                return put(request)

            async def get(self, request: Any, context: leveret.CallContext) -> Any:
                return get(request)

        return AsyncImpl()

    class Impl(shadow.ShadowServicer):  # type: ignore[misc, name-defined]
        def put(self, request: Any, context: leveret.CallContext) -> Any:
            return put(request)

        def get(self, request: Any, context: leveret.CallContext) -> Any:
            return get(request)

    return Impl()


def _expected_wire() -> dict[str, Any]:
    wire = {k: v for k, v in PUT_ARGUMENTS.items() if k != "Money_1"}
    wire["Money"] = {"amount": 7}
    return wire


def test_sync_calls_with_properties_named_like_module_names(shadow: ModuleType, url: str) -> None:
    seen: list[dict[str, Any]] = []
    with (
        leveret.Worker(make_servicer(shadow, seen, async_=False), url=url),
        shadow.ShadowClient.connect(url) as client,
    ):
        reply = client.put(**PUT_ARGUMENTS)
        assert isinstance(reply, shadow.Money) and reply.amount == len("value of PUT")
        assert seen == [_expected_wire()]
        assert client.get(GET=21, PUT=1).GET == 42
        with pytest.raises(shadow.Nope) as info:
            client.put(PUT="fail")
    assert info.value.details.model_dump(by_alias=True) == DETAILS


def test_async_calls_with_properties_named_like_module_names(shadow: ModuleType, url: str) -> None:
    seen: list[dict[str, Any]] = []

    async def main() -> None:
        with leveret.Worker(make_servicer(shadow, seen, async_=True), url=url):
            async with shadow.AsyncShadowClient.connect(url) as client:
                reply = await client.put(**PUT_ARGUMENTS)
                assert reply.amount == len("value of PUT")
                assert (await client.get(GET=2)).GET == 4
                with pytest.raises(shadow.Nope) as info:
                    await client.put(PUT="fail")
                assert info.value.details.Nope == "detail Nope"

    asyncio.run(main())
    assert seen[0] == _expected_wire()
