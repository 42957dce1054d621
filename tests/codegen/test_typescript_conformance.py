"""Conformance of the TypeScript side: the JSON-Schema-Test-Suite through the generated TypeScript
validators gives the Python models' verdicts (issue 13).

``test_conformance.py`` feeds every draft 2020-12 group of the suite to leveret and checks the
Python models of the accepted ones. This module takes the same groups, in the same variants
(as written, and "typed") and forms (named type, inline), from the same machinery (imported from
it, so both always check the same schemas), and sends every test's ``data`` through the
TypeScript side the way a TypeScript worker reads a request:

* one definition holds every checked variant and form as a type, plus one method per
  ``{"value": ...}`` wrapper type taking it as its request;
* ``leveret generate --lang typescript`` (``generate_typescript``) writes its package; its
  ``spec.ts`` (and what it imports) is transpiled with the runtime's own ``typescript`` and
  loaded in one Node.js process against the built runtime (``runtime/typescript/dist``);
* each test's body, ``{"value": data}`` as Python's ``json.dumps`` writes it (the text the
  Python test validates too), goes through ``readBody(body, method.request)``, the function the
  worker calls for a request body (and the client for a reply): the wire's JSON reading (UTF-8,
  no BOM, no NaN/Infinity tokens, no integer over 4300 digits, no lone surrogate, no number that
  reads as infinity), then the Ajv validator the runtime compiles from the method's schema;
* the Python side's verdict is the one ``test_conformance`` pins for the generated models
  (the suite's, but for its ``DIVERGENCES``, which are strict xfails there): generating the
  Python models of every group again would take most of a minute.

A test's TypeScript verdict must equal the Python one, except where ``TS_EXCEPTIONS`` says why
not (and then it must differ: a fix shows up). Every disagreement is listed in one failure.
Groups the TypeScript generator refuses although the Python one accepts them (``TS_REFUSED``:
integers beyond 2^53, LV521) are pinned, so that a refusal cannot appear or go unnoticed.

The wire's own rules are checked on hand-written bodies (``WIRE_BODIES``: NaN, ``1e400``, long
integers, duplicate keys, a BOM, bad UTF-8, lone surrogates, ...) sent to a few of the same
methods, against the real Python worker path: ``leveret._codec.decode_request`` with the
generated Python model of the same wrapper type (``WIRE_EXCEPTIONS`` for what JavaScript cannot
carry).

Needs Node.js and the runtime's packages and build (``npm ci`` in runtime/typescript): without
them the tests skip, unless ``LEVERET_REQUIRE_BROKER=1`` or ``CI`` is set, which makes that a
failure.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pytest

from leveret._codec import decode_request
from leveret._errors import InvalidArgument
from leveret._spec import MethodSpec
from leveret_codegen._frontend import load_services
from leveret_codegen._ts import generate_typescript
from leveret_codegen._ts._checks import check_service
from tests.codegen import test_conformance as py
from tests.support.generated import generate_into

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime" / "typescript"
TYPESCRIPT = RUNTIME / "node_modules" / "typescript"
DIST = RUNTIME / "dist"

# -- the tables ----------------------------------------------------------------------------------

#: Groups the TypeScript generator refuses although the Python one accepts them, with the codes.
TS_REFUSED: Final[dict[py.GroupKey, str]] = {
    # const 9007199254740992 (2^53) next to 9007199254740992.0: a JavaScript number cannot hold
    # the integer exactly, so the validator would compare a rounded value (LV521 says so).
    ("const.json", "float and integers are equal up to 64-bit representation limits"): "LV521",
}

#: Tests whose TypeScript verdict differs from the Python models' for a documented reason, by
#: group and test description; "<test> (typed)" or "<test> (as-is)" restricts an entry to that
#: variant. Each must still differ (a fix shows up as a failure until the entry goes). None is
#: a reason to keep: each names what would remove it.
_LEAP_SECOND: Final = (
    "TypeScript gives the suite's verdict: the Python model of a typed date-time holds a "
    "datetime, which has no second 60 (test_conformance.DIVERGENCES). Same verdicts need either "
    "the Python model to accept it or the TypeScript check to refuse second 60 where the Python "
    "field is a datetime (type: string), which the schema alone does not say"
)
_NANOSECONDS: Final = (
    "TypeScript gives the suite's verdict: the Python model of a typed date-time holds a "
    "datetime, which holds microseconds, and refuses a finer fraction of a second "
    "(test_conformance.DIVERGENCES). Same verdicts need the TypeScript check to refuse more than "
    "six fractional digits where the Python field is a datetime (type: string), which the "
    "schema alone does not say"
)
_EMPTY_ENUM: Final = (
    "Ajv refuses to compile `enum: []` ('enum must have non-empty array'), so a worker would "
    "answer INTERNAL to every request of such a method; fix: the generator writes `enum: []` "
    "as the equivalent `not: {}` in spec.ts (or refuses it for TypeScript), or the runtime "
    "rewrites it before compiling"
)
_PROTO_PROPERTY: Final = (
    "Ajv skips a property named __proto__ in `properties` (its guard against prototype "
    "pollution), so its subschema is never applied; fix: the generator (or the runtime before "
    "compiling) writes `properties: {__proto__: S}` as `patternProperties: {'^__proto__$': S}`, "
    "which Ajv applies to JSON.parse's own __proto__ key (required already works: ownProperties)"
)
_AJV_CONTAINS: Final = (
    "Ajv's unevaluatedItems does not count the items `contains` matched as evaluated (2020-12 "
    "says they are); fix: the TypeScript generator refuses unevaluatedItems next to contains "
    "(LV52x), as the Python one refuses what it cannot enforce exactly"
)
_AJV_IF: Final = (
    "Ajv drops `if` without `then`/`else` and takes no annotations from `if` itself, so the "
    "properties/items `if` evaluated count as unevaluated; fix: the TypeScript generator refuses "
    "unevaluated* next to such an `if` (LV52x)"
)
_AJV_NESTED_ITEMS: Final = (
    "Ajv marks every item evaluated when one anyOf branch is `true`, though `items` of the "
    "other branch failed (2020-12: only passing branches' annotations count); fix: the "
    "TypeScript generator refuses unevaluatedItems over anyOf/oneOf with `items` (LV52x)"
)
_ENUM_TESTS: Final = (
    "number is invalid",
    "string is invalid",
    "object is invalid",
    "array is invalid",
    "boolean is invalid",
    "null is invalid",
)
TS_EXCEPTIONS: Final[dict[py.GroupKey, dict[str, str]]] = {
    ("optional/format/date-time.json", "validation of date-time strings"): {
        "a valid date-time with a leap second, UTC (typed)": _LEAP_SECOND,
        "a valid date-time with a leap second, with minus offset (typed)": _LEAP_SECOND,
        "a second fraction of fifteen nines is valid (typed)": _NANOSECONDS,
    },
    ("enum.json", "empty enum"): dict.fromkeys(_ENUM_TESTS, _EMPTY_ENUM),
    ("properties.json", "properties whose names are Javascript object property names"): {
        "__proto__ not valid": _PROTO_PROPERTY,
    },
    (
        "unevaluatedItems.json",
        "unevaluatedItems and contains interact to control item dependency relationship",
    ): dict.fromkeys(
        (
            "only a's and c's are invalid",
            "only b's and c's are invalid",
            "only b's are invalid",
            "only c's are invalid",
        ),
        _AJV_CONTAINS,
    ),
    ("unevaluatedItems.json", "unevaluatedItems depends on adjacent contains"): {
        "contains passes, second item is not evaluated": _AJV_CONTAINS,
    },
    ("unevaluatedItems.json", "unevaluatedItems depends on multiple nested contains"): {
        "7 not evaluated, fails unevaluatedItems": _AJV_CONTAINS,
    },
    ("unevaluatedItems.json", "unevaluatedItems with minContains = 0"): {
        "all items evaluated by contains": _AJV_CONTAINS,
    },
    (
        "unevaluatedItems.json",
        "unevaluatedItems can see annotations from if without then and else",
    ): {
        "valid in case if is evaluated": _AJV_IF,
    },
    (
        "unevaluatedProperties.json",
        "unevaluatedProperties can see annotations from if without then and else",
    ): {"valid in case if is evaluated": _AJV_IF},
    ("unevaluatedProperties.json", "unevaluatedProperties with if/then/else, then not defined"): {
        "when if is false and has unevaluated properties": _AJV_IF,
        "when if is true and has no unevaluated properties": _AJV_IF,
    },
    ("unevaluatedItems.json", "unevaluatedItems with nested items"): {
        "with invalid additional item": _AJV_NESTED_ITEMS,
        "with no additional items": _AJV_NESTED_ITEMS,
    },
}

#: Hand-written bodies (``WIRE_BODIES``) the two sides read differently, with the reason.
WIRE_EXCEPTIONS: Final[dict[str, str]] = {
    "an integer of 4300 digits": (
        "an integer of 310 to 4300 digits: Python's int holds it exactly (pydantic reads up to "
        "4300 digits), a JavaScript number reads it as Infinity, which readBody refuses as too "
        "large for a double; the TypeScript side cannot carry it"
    ),
}


# -- the definition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked variant of a group in one form: the wrapper type and the method taking it."""

    variant: py.Variant
    form: str
    wrapper: str


def _group_types(group: py.Group) -> tuple[list[tuple[str, object]], list[Target]]:
    """A group's checked types, as ``test_conformance``'s models fixture writes them (none when
    nothing of it is checked), and its targets."""
    variants, hoisted = py.PARTS[group.key]
    types: list[tuple[str, object]] = []
    targets: list[Target] = []
    for variant in variants:
        for name, (schema, form) in py._variant_types(variant).items():
            if py._checked(variant, form):
                types.append((name, schema))
                if name != variant.name:
                    targets.append(Target(variant, form, name))
    if types:
        types.extend(hoisted.items())
    return types, targets


def _method(index: int) -> str:
    return f"check_{index}"


def _write(path: Path, groups: list[py.Group]) -> tuple[str, dict[int, py.GroupKey], list[Target]]:
    """``test_conformance``'s one-type-a-line definition of ``groups``, with a method per
    target (``check_<index>``) on the last line; returns the package, each type's owner by line,
    and the targets in method order."""
    types: list[tuple[str, object]] = []
    owners: list[py.GroupKey] = []
    targets: list[Target] = []
    for group in groups:
        added, found = _group_types(group)
        types.extend(added)
        owners.extend([group.key] * len(added))
        targets.extend(found)
    package = f"leveret_ts_conformance_{uuid.uuid4().hex[:8]}"
    lines = py._write_definition(path, package, types)
    text = path.read_text(encoding="utf-8").rstrip("\n")
    assert text.endswith("}}"), text[-20:]
    methods = {
        _method(i): {"request": {"$ref": f"#/types/{t.wrapper}"}, "response": {"type": "object"}}
        for i, t in enumerate(targets)
    }
    path.write_text(f'{text[:-1]}, "methods": {json.dumps(methods)}}}\n', encoding="utf-8")
    return package, dict(zip(lines, owners, strict=True)), targets


# -- the toolchain -------------------------------------------------------------------------------


def _require_node() -> None:
    """Node.js, the runtime's packages and its build; skip without them, or fail in CI."""
    problems = []
    if shutil.which("node") is None:
        problems.append("node is not on PATH")
    if (
        not (TYPESCRIPT / "package.json").exists()
        or not (RUNTIME / "node_modules" / "ajv").exists()
    ):
        problems.append("runtime/typescript/node_modules is missing (npm ci in runtime/typescript)")
    if not (DIST / "validate.js").exists():
        problems.append("runtime/typescript/dist is not built (npm ci in runtime/typescript)")
    else:
        # A build older than its sources gives the old validators' verdicts: never a pass.
        built = min(p.stat().st_mtime for p in DIST.glob("*.js"))
        stale = sorted(p.name for p in (RUNTIME / "src").glob("*.ts") if p.stat().st_mtime > built)
        if stale:
            pytest.fail(
                f"runtime/typescript/dist is older than src/{', src/'.join(stale)} "
                "(npm run build in runtime/typescript)",
                pytrace=False,
            )
    if problems:
        message = "; ".join(problems)
        if os.environ.get("LEVERET_REQUIRE_BROKER") == "1" or os.environ.get("CI"):
            pytest.fail(f"{message}, and CI requires the TypeScript tests", pytrace=False)
        pytest.skip(message)


# The generated package's modules are transpiled one by one (no type check: test_typescript_
# generate.py runs tsc on generated code) with the runtime's own TypeScript, then loaded against
# the runtime's build as a user's project loads it (node_modules/leveret). Each case is
# [method, body as base64]; the verdict is true (read and valid), false (a BodyError: what the
# worker answers INVALID_ARGUMENT with) or the text of any other exception (a crash).
_NODE: Final = r"""
const fs = require('fs');
const path = require('path');
const [runtime, dir, casesFile] = process.argv.slice(2);
const ts = require(path.join(runtime, 'node_modules', 'typescript'));
for (const name of fs.readdirSync(dir)) {
  if (!name.endsWith('.ts')) continue;
  const source = fs.readFileSync(path.join(dir, name), 'utf8');
  const out = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  fs.writeFileSync(path.join(dir, name.replace(/\.ts$/, '.js')), out.outputText);
}
const { SERVICE } = require(path.join(dir, 'spec.js'));
// The module the worker imports (node_modules/leveret resolves to the same file).
const { readBody, BodyError } = require(path.join(runtime, 'dist', 'validate.js'));
const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const verdicts = cases.map(([method, body]) => {
  const spec = SERVICE.methods[method];
  if (spec === undefined) return `no method ${method}`;
  try {
    readBody(Buffer.from(body, 'base64'), spec.request);
    return true;
  } catch (error) {
    return error instanceof BodyError ? false : String((error && error.stack) || error);
  }
});
process.stdout.write(JSON.stringify(verdicts));
"""


class Node:
    """One Node.js process giving the TypeScript runtime's verdicts on (method, body) pairs,
    running while the test does something else (the Python models generate meanwhile)."""

    def __init__(self, work: Path, package: Path, cases: list[tuple[str, bytes]]) -> None:
        name = uuid.uuid4().hex[:8]
        cases_file = work / f"cases-{name}.json"
        cases_file.write_text(
            json.dumps([[m, base64.b64encode(b).decode()] for m, b in cases]), encoding="utf-8"
        )
        script = work / "verdicts.cjs"
        script.write_text(_NODE, encoding="utf-8")
        self._count = len(cases)
        self._process = subprocess.Popen(
            ["node", str(script), str(RUNTIME), str(package), str(cases_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def verdicts(self) -> list[bool | str]:
        out, err = self._process.communicate(timeout=300)
        assert self._process.returncode == 0, err
        verdicts: list[bool | str] = json.loads(out)
        assert len(verdicts) == self._count
        return verdicts


def _refusals(path: Path, owners: dict[int, py.GroupKey]) -> dict[py.GroupKey, str]:
    """The groups whose types the TypeScript generator's own checks refuse, with the codes."""
    services, diagnostics = load_services([path])
    assert not [d for d in diagnostics if d.severity == "error"], diagnostics[:5]
    codes: dict[py.GroupKey, set[str]] = {}
    for service in services:
        for diagnostic in check_service(service):
            assert diagnostic.line in owners, diagnostic.render()
            codes.setdefault(owners[diagnostic.line], set()).add(diagnostic.code)
    return {key: " ".join(sorted(found)) for key, found in codes.items()}


@dataclass(frozen=True)
class Generated:
    """The TypeScript package of the checked groups, and the groups TypeScript refused."""

    refused: dict[py.GroupKey, str]  # with the codes
    targets: list[Target]  # in method order (check_<index>)
    groups: list[py.Group]  # the checked ones
    work: Path
    package: Path  # the TypeScript package's folder


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    _require_node()
    work = tmp_path_factory.mktemp("ts-conformance")
    # The project the generated package sits in depends on the runtime as a user's does.
    (work / "node_modules").mkdir()
    (work / "node_modules" / "leveret").symlink_to(RUNTIME, target_is_directory=True)
    groups = [g for g in py.GROUPS if _group_types(g)[1]]
    _, owners, _ = _write(work / "all.json", groups)
    refused = _refusals(work / "all.json", owners)
    kept = [g for g in groups if g.key not in refused]
    package, _, targets = _write(work / "checked.json", kept)
    result = generate_typescript([work / "checked.json"])
    assert result.ok, [d.render() for d in result.diagnostics if d.severity == "error"][:10]
    for relative, text in result.files.items():
        target = work / "ts" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return Generated(refused, targets, kept, work, work / "ts" / package)


@contextlib.contextmanager
def _python_models(groups: list[py.Group], out: Path) -> Iterator[ModuleType]:
    """The Python models of ``groups``' checked types: ``test_conformance``'s models fixture,
    whose definition has no methods (the Python client of 700 methods takes minutes to render)."""
    package = f"leveret_py_conformance_{uuid.uuid4().hex[:8]}"
    out.mkdir()
    py._write_definition(
        out / "types.json", package, [t for g in groups for t in _group_types(g)[0]]
    )
    generate_into([out / "types.json"], out)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(f"{package}.models")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def _python_verdict(models: ModuleType, wrapper: str, body: bytes) -> bool:
    """The Python worker's verdict on a request body: ``decode_request``, as the dispatcher
    calls it, with the wrapper's generated model as the request."""
    model = getattr(models, wrapper)
    method: MethodSpec[Any, Any] = MethodSpec("check", "check", model, model)
    try:
        decode_request(method, body)
    except InvalidArgument:
        return False
    return True


# -- verdicts ------------------------------------------------------------------------------------


def _python(variant: py.Variant, test: py.SuiteTest) -> bool:
    """The Python models' verdict, as ``test_conformance`` pins it: the expected one, but for
    its DIVERGENCES and KNOWN_BUGS (strict xfails there, so it is the models' verdict exactly)."""
    group = variant.group
    listed = {**py.KNOWN_BUGS.get(group.key, {})}
    if variant.typed or group.key not in py.DIVERGE_WHEN_TYPED:
        listed.update(py.DIVERGENCES.get(group.key, {}))
    expected = variant.expected(test)
    return not expected if test.description in listed else expected


@dataclass(frozen=True)
class Outcome:
    """One suite test in one variant and form: the expected verdict and both sides'."""

    target: Target
    test: py.SuiteTest
    body: bytes
    typescript: bool | str

    @property
    def expected(self) -> bool:
        return self.target.variant.expected(self.test)

    @property
    def python(self) -> bool:
        return _python(self.target.variant, self.test)

    def __str__(self) -> str:
        group = self.target.variant.group
        return (
            f"{group.file} / {group.description} / {self.test.description} "
            f"({self.target.variant.label}, {self.target.form}): suite "
            f"{'valid' if self.expected else 'invalid'}, Python {_said(self.python)}, "
            f"TypeScript {_said(self.typescript)} {self.body.decode('utf-8', 'replace')[:200]}"
        )


def _said(verdict: bool | str) -> str:
    if isinstance(verdict, str):
        return f"crashes: {verdict.splitlines()[0]}"
    return "accepts" if verdict else "rejects"


def _exception(outcome: Outcome) -> str | None:
    """Why ``outcome``'s TypeScript verdict may differ from Python's, or None."""
    variant = outcome.target.variant
    reasons = TS_EXCEPTIONS.get(variant.group.key, {})
    return reasons.get(f"{outcome.test.description} ({variant.label})") or reasons.get(
        outcome.test.description
    )


@pytest.fixture(scope="module")
def outcomes(generated: Generated) -> list[Outcome]:
    """Every suite test of every checked group, variant and form, through the TypeScript
    runtime in one Node process."""
    cases: list[tuple[Target, py.SuiteTest, str, bytes]] = []
    for index, target in enumerate(generated.targets):
        for test in target.variant.group.tests:
            body = json.dumps({"value": test.data}).encode()
            cases.append((target, test, _method(index), body))
    node = Node(generated.work, generated.package, [(m, b) for _, _, m, b in cases])
    return [
        Outcome(target, test, body, verdict)
        for (target, test, _, body), verdict in zip(cases, node.verdicts(), strict=True)
    ]


def test_typescript_refuses_only_the_listed_groups(generated: Generated) -> None:
    """Groups the Python generator accepts and the TypeScript one refuses, with the codes: the
    table, exactly (a refusal going away or a new one shows up)."""
    assert generated.refused == TS_REFUSED


def test_the_typescript_validators_give_the_python_models_verdicts(
    outcomes: list[Outcome],
) -> None:
    """Every test of every checked group: the TypeScript runtime gives the Python models'
    verdict (which is the suite's, but for ``test_conformance.DIVERGENCES``), but where
    ``TS_EXCEPTIONS`` says why not; a listed test that agrees fails too (remove the entry)."""
    wrong: list[str] = []
    for outcome in outcomes:
        agree = outcome.typescript == outcome.python
        listed = _exception(outcome)
        if agree and listed is not None:
            wrong.append(f"{outcome} [agrees, but TS_EXCEPTIONS lists it: {listed}]")
        elif not agree and listed is None:
            wrong.append(str(outcome))
    assert not wrong, f"{len(wrong)} of {len(outcomes)} checks:\n" + "\n".join(wrong)


def test_tables_name_real_groups_and_tests(outcomes: list[Outcome]) -> None:
    checked = {o.target.variant.group.key for o in outcomes}
    assert set(TS_REFUSED) <= {g.key for g in py.GROUPS} - checked
    for key, tests in TS_EXCEPTIONS.items():
        assert key in checked, key
        names = {o.test.description for o in outcomes if o.target.variant.group.key == key}
        names |= {f"{n} ({label})" for n in names for label in ("typed", "as-is")}
        assert set(tests) <= names, set(tests) - names
        assert all(tests.values())


def test_figures(generated: Generated, outcomes: list[Outcome]) -> None:
    """The figure docs/definition-format.md quotes (printed with -s)."""
    groups = {o.target.variant.group.key for o in outcomes}
    tests = {(o.target.variant.group.key, o.test.description) for o in outcomes}
    excepted = [o for o in outcomes if o.typescript != o.python]
    excepted_tests = {(o.target.variant.group.key, o.test.description) for o in excepted}
    print(
        f"\nTypeScript: {len(groups)} groups, {len(tests)} tests ({len(outcomes)} checks over "
        f"variants and forms); {len(generated.refused)} group(s) refused (LV521); "
        f"{len(excepted_tests)} tests ({len(excepted)} checks) differ from Python, all listed"
    )
    assert len(groups) + len(generated.refused) == len(
        {g.key for g in py.GROUPS if _group_types(g)[1]}
    )


# -- the wire's JSON reading ---------------------------------------------------------------------

#: Groups whose wrapper methods get the hand-written bodies: one type each, and untyped.
WIRE_GROUPS: Final = (
    ("type.json", "integer type matches integers"),
    ("type.json", "number type matches numbers"),
    ("type.json", "string type matches strings"),
    ("minimum.json", "minimum validation"),
)
_HUGE: Final = "1" * 4301

#: Bodies whose reading is the wire's business, not the schema's: both sides read them alike.
WIRE_BODIES: Final[dict[str, bytes]] = {
    "an integer": b'{"value": 2}',
    "1.0, an integer in JSON Schema": b'{"value": 1.0}',
    "a float": b'{"value": 2.5}',
    "a string": b'{"value": "2"}',
    "NaN": b'{"value": NaN}',
    "Infinity": b'{"value": Infinity}',
    "-Infinity": b'{"value": -Infinity}',
    "NaN inside a string": b'{"value": "NaN"}',
    "1e400, a number that reads as infinity": b'{"value": 1e400}',
    "-1e400": b'{"value": -1e400}',
    "1e400 in a property the schema ignores": b'{"value": 2, "other": 1e400}',
    "1e-400, a number that reads as 0": b'{"value": 1e-400}',
    "an integer of 4300 digits": b'{"value": ' + b"1" * 4300 + b"}",
    "an integer of 4301 digits": b'{"value": ' + _HUGE.encode() + b"}",
    "a long fraction": b'{"value": 1.' + b"1" * 5000 + b"}",
    "an integer beyond 2^64": b'{"value": 123456789012345678901234567890}',
    "duplicate keys, the last a string": b'{"value": 2, "value": "x"}',
    "duplicate keys, the last a number": b'{"value": "x", "value": 2}',
    "a BOM": b'\xef\xbb\xbf{"value": 2}',
    "not UTF-8": b'{"value": "\xff"}',
    "a lone surrogate": b'{"value": "\\ud800"}',
    "a surrogate pair": b'{"value": "\\ud83d\\ude00"}',
    "a lone surrogate in a key": b'{"value": 2, "\\udc00": 1}',
    "not JSON": b'{"value": 2',
    "trailing data": b'{"value": 2} x',
    "an array body": b"[2]",
    # A value inside 200 arrays and objects is read, one inside 201 is not (pydantic-core).
    "a value 200 deep in a property the schema ignores": b'{"value": 2, "other": '
    + b"[" * 198
    + b"[1]"
    + b"]" * 198
    + b"}",
    "a value 201 deep in a property the schema ignores": b'{"value": 2, "other": '
    + b"[" * 199
    + b"[1]"
    + b"]" * 199
    + b"}",
    "nested 100000 deep": b'{"value": ' + b"[" * 100000 + b"]" * 100000 + b"}",
}


def test_the_wire_reading_is_the_python_workers(generated: Generated) -> None:
    """Hand-written bodies (NaN, 1e400, long integers, duplicate keys, a BOM, bad UTF-8, lone
    surrogates, ...) to a few of the generated methods: ``readBody`` and the Python worker's
    ``decode_request`` (with the same wrapper's generated model) give the same verdict."""
    groups = [g for g in py.GROUPS if g.key in WIRE_GROUPS]
    assert len(groups) == len(WIRE_GROUPS)
    targets = [
        (index, t)
        for index, t in enumerate(generated.targets)
        if t.variant.group.key in WIRE_GROUPS
    ]
    cases = [(i, t, name, body) for i, t in targets for name, body in WIRE_BODIES.items()]
    node = Node(generated.work, generated.package, [(_method(i), b) for i, _, _, b in cases])
    with _python_models(groups, generated.work / "py-wire") as models:
        python = [_python_verdict(models, t.wrapper, body) for _, t, _, body in cases]
    verdicts = node.verdicts()
    assert not [v for v in verdicts if isinstance(v, str)], verdicts
    wrong = [
        f"{t.variant.group.description} ({t.variant.label}, {t.form}) / {name}: "
        f"Python {_said(p)}, TypeScript {_said(ts)}"
        for (_, t, name, _), p, ts in zip(cases, python, verdicts, strict=True)
        if p != ts and name not in WIRE_EXCEPTIONS
    ]
    assert not wrong, "\n".join(wrong)
    differ = {
        name for (_, _, name, _), p, ts in zip(cases, python, verdicts, strict=True) if p != ts
    }
    assert differ == set(WIRE_EXCEPTIONS), differ ^ set(WIRE_EXCEPTIONS)
    assert any(python) and not all(python)
