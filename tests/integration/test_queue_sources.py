"""Issue 12, section 2, against the real broker: every command that takes a definition file
takes ``queue:<QUEUE>`` too, the definition fetched from the running service by reflection.

The service is a real ``leveret.Worker`` serving the generated Inventory servicer (its spec
carries the self-contained definition), on a queue of its own. Bad input: a queue nobody
serves, a worker that answers UNIMPLEMENTED to ``leveret.describe``, and a raw pika server
answering it with a definition that does not load.

The commands run in this process, through the parsers their modules register (the way
``leveret`` builds them), so their output is captured as a user would see it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import yaml

import leveret
from generated.shop import InventoryServicer, Reservation, ReserveRequest
from generated.shop._spec import SERVICE
from leveret_codegen import _call_command, _describe_cli, _docs_cli, cli
from leveret_codegen._review import cli as review_cli
from tests.conftest import ROOT
from tests.support.numbers import RawServer

pytestmark = pytest.mark.integration


class Inventory(InventoryServicer):
    def reserve(self, request: ReserveRequest, context: leveret.CallContext) -> Reservation:
        return Reservation(
            id=uuid.UUID(int=request.quantity),
            sku=request.sku,
            quantity=request.quantity,
            status="held",
        )


def leveret_command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``leveret ARGV`` in this process: (exit status, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="leveret")
    commands = parser.add_subparsers(dest="command", required=True)
    for register in (
        _describe_cli.register,
        _call_command.register,
        cli.register,
        review_cli.register_breaking,
        review_cli.register_lint,
        _docs_cli.register_docs,
        _docs_cli.register_asyncapi,
    ):
        register(commands)
    capsys.readouterr()
    args = parser.parse_args(argv)
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


def _delete_queue(url: str, queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().queue_delete(queue)
    finally:
        connection.close()


@pytest.fixture
def queue(amqp_url: str) -> Iterator[str]:
    name = f"leveret.test.queue-source.{uuid.uuid4().hex[:12]}"
    yield name
    _delete_queue(amqp_url, name)


@pytest.fixture
def workdir(amqp_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """AMQP_URL set for the commands, and the working directory a fresh folder holding a copy
    of schemas/inventory.yaml (and the common.yaml it references)."""
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.chdir(tmp_path)
    _edited("maximum: 1000}", "maximum: 1000}")
    return tmp_path


@pytest.fixture
def served(amqp_url: str, queue: str, workdir: Path) -> Iterator[str]:
    """``queue:<QUEUE>`` of a running Inventory worker, the commands run in ``workdir``."""
    with leveret.Worker(Inventory(), url=amqp_url, queue=queue):
        yield f"queue:{queue}"


def _trusted_warning(command: str, served: str) -> str:
    return (
        f"leveret {command}: warning: {served}: the definition names queue 'shop.Inventory', "
        f"not {served.removeprefix('queue:')!r}; written as described (--trust-queue)\n"
    )


def _without_header(text: str) -> str:
    return text.split("\n", 1)[1]


# -- describe -----------------------------------------------------------------------------------


def test_describe_prints_yaml_that_generates_the_same_models(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = leveret_command(capsys, "describe", served)
    assert (status, err) == (0, "")
    assert out.startswith(f"# {served}: described by leveret ")
    assert SERVICE.fingerprint is not None and SERVICE.fingerprint in out.splitlines()[0]
    Path("inventory.yaml").write_text(out, encoding="utf-8")
    status, _, err = leveret_command(capsys, "generate", "inventory.yaml", "--out", "out")
    assert (status, err) == (0, "")
    for name in ("models.py", "errors.py", "client.py", "servicer.py"):
        generated = (ROOT / "generated" / "shop" / name).read_text(encoding="utf-8")
        assert _without_header(Path("out/shop", name).read_text(encoding="utf-8")) == (
            _without_header(generated)
        ), name


def test_describe_as_json_is_the_served_definition(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = leveret_command(capsys, "describe", served, "--format", "json")
    assert status == 0
    assert SERVICE.definition is not None
    assert json.loads(out) == json.loads(SERVICE.definition)


def test_describe_refused_by_the_authorize_hook(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    class Private(Inventory):
        def authorize(self, method: leveret.MethodSpec[Any, Any], context: Any) -> None:
            if method.name == "leveret.describe":
                raise leveret.PermissionDenied(f"{context.caller} may not read the definition")

    with leveret.Worker(Private(), url=amqp_url, queue=queue):
        status, out, err = leveret_command(capsys, "describe", f"queue:{queue}")
    assert (status, out) == (1, "")
    assert err == (
        f"leveret describe: queue:{queue}: PERMISSION_DENIED: guest may not read the definition\n"
    )


def test_describe_takes_a_file_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    status, out, _ = leveret_command(
        capsys, "describe", "schemas/inventory.yaml", "--format", "json"
    )
    assert status == 0
    assert SERVICE.definition is not None
    assert json.loads(out) == json.loads(SERVICE.definition)  # common.yaml's types inlined


# -- call ---------------------------------------------------------------------------------------


def test_call_needs_no_local_file(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = leveret_command(
        capsys, "call", served, "reserve", '{"sku": "ABC-1234", "quantity": 2}'
    )
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "id": str(uuid.UUID(int=2)),
        "sku": "ABC-1234",
        "quantity": 2,
        "status": "held",
    }
    # the request is still checked against the served definition before it is sent
    status, _, err = leveret_command(
        capsys, "call", served, "reserve", '{"sku": "nope", "quantity": 2}'
    )
    assert status == 2
    assert "sku" in err and "does not match" in err


# -- breaking -----------------------------------------------------------------------------------


def _edited(old: str, new: str) -> Path:
    """schemas/inventory.yaml (and common.yaml) in the working directory, with one edit."""
    shutil.copy(ROOT / "schemas" / "common.yaml", "common.yaml")
    text = (ROOT / "schemas" / "inventory.yaml").read_text(encoding="utf-8")
    assert old in text
    Path("inventory.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return Path("inventory.yaml")


def test_breaking_against_the_served_definition(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a tighter request breaks the callers of the deployed service
    _edited("maximum: 1000}", "maximum: 10}")
    status, out, _ = leveret_command(capsys, "breaking", "inventory.yaml", "--against", served)
    assert status == 1
    assert "maximum" in out
    status, out, _ = leveret_command(
        capsys, "breaking", "inventory.yaml", "--against", served, "--format", "json"
    )
    assert status == 1
    report = json.loads(out)
    assert report["failed"] is True
    assert any(f["file"] == "inventory.yaml" for f in report["findings"])
    # an optional request property is safe
    _edited(
        "note: {type: string,",
        "gift: {type: boolean}\n      note: {type: string,",
    )
    status, out, _ = leveret_command(capsys, "breaking", "inventory.yaml", "--against", served)
    assert status == 0, out
    # unchanged: nothing at all
    _edited("maximum: 1000}", "maximum: 1000}")
    status, out, _ = leveret_command(
        capsys, "breaking", "inventory.yaml", "--against", served, "--format", "json"
    )
    assert status == 0
    assert json.loads(out)["findings"] == []


@pytest.mark.parametrize(
    "old", ["missing.yaml", "git:no-such-revision", "queue:leveret.test.nobody"]
)
def test_breaking_exits_2_for_any_old_side_it_cannot_read(
    old: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A queue that cannot be described is one more unreadable side: exit 2, as a missing file
    or a git revision that cannot be read (exit 1 means a breaking change was found)."""
    subprocess.run(["git", "init", "-q", "."], check=True)
    status, out, err = leveret_command(capsys, "breaking", "inventory.yaml", "--against", old)
    assert (status, out) == (2, "")
    assert err.startswith("leveret breaking: ")


def test_breaking_with_the_served_definition_as_the_new_side(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # deployed: maximum 1000; compared with a file allowing more, the deployment tightened it
    _edited("maximum: 1000}", "maximum: 5000}")
    status, out, _ = leveret_command(capsys, "breaking", served, "--against", "inventory.yaml")
    assert status == 1
    assert "maximum" in out


# -- lint -----------------------------------------------------------------------------------------


def test_lint_a_served_definition(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = leveret_command(capsys, "lint", served, "--format", "json")
    assert (status, err) == (0, "")
    served_findings = json.loads(out)["findings"]
    assert served_findings and {f["file"] for f in served_findings} == {served}
    # what lint finds in the definition files the service was generated from (common.yaml's
    # types are inlined in the served definition)
    status, out, _ = leveret_command(
        capsys, "lint", "inventory.yaml", "common.yaml", "--format", "json"
    )
    assert status == 0
    file_findings = json.loads(out)["findings"]
    assert {(f["rule"], f["message"]) for f in served_findings} == {
        (f["rule"], f["message"]) for f in file_findings
    }
    # each at its line of the YAML `leveret describe` prints
    _, described, _ = leveret_command(capsys, "describe", served)
    lines = described.splitlines()
    for finding in served_findings:
        name = finding["message"].split("'")[1] if "'" in finding["message"] else ""
        assert name in lines[finding["line"] - 1], finding


# -- generate, docs, asyncapi ------------------------------------------------------------------


def test_generate_from_a_queue_gives_a_typed_package_that_calls_the_service(
    served: str, amqp_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # the worker serves the definition (queue shop.Inventory) on a queue of the test's own
    status, out, err = leveret_command(
        capsys, "generate", served, "--out", "stubs", "--trust-queue"
    )
    assert (status, err) == (0, _trusted_warning("generate", served))
    assert f"generated shop ({served}) -> stubs/shop: 7 files" in out
    package = tmp_path / "stubs" / "shop"
    assert (
        (package / "_spec.py")
        .read_text(encoding="utf-8")
        .startswith(f"# Code generated by leveret from {served}. DO NOT EDIT.")
    )
    program = tmp_path / "stubs" / "use_stubs.py"
    program.write_text(
        "import sys\n\n"
        "from shop import InventoryClient, Reservation\n\n\n"
        "def main(url: str, queue: str) -> Reservation:\n"
        "    with InventoryClient.connect(url, queue=queue) as client:\n"
        '        return client.reserve(sku="ABC-1234", quantity=3)\n\n\n'
        'if __name__ == "__main__":\n'
        "    print(main(sys.argv[1], sys.argv[2]).model_dump_json())\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "stubs")}
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "use_stubs.py", "shop"],
        cwd=tmp_path / "stubs",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = subprocess.run(
        [sys.executable, str(program), amqp_url, served.removeprefix("queue:")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["quantity"] == 3


@pytest.mark.parametrize(
    ("command", "name"), [("docs", "shop.md"), ("asyncapi", "shop.asyncapi.yaml")]
)
def test_docs_and_asyncapi_from_a_queue(
    served: str, command: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = leveret_command(
        capsys, command, served, "--out", "from-queue", "--trust-queue"
    )
    assert (status, err) == (0, _trusted_warning(command, served))
    assert f"({served})" in out
    status, _, _ = leveret_command(capsys, command, "inventory.yaml", "--out", "from-file")
    assert status == 0
    # the same document as from the definition files, but for the source it names
    from_queue = Path("from-queue", name).read_text(encoding="utf-8")
    assert from_queue.replace(served, "inventory.yaml") == Path("from-file", name).read_text(
        encoding="utf-8"
    )


# -- bad input ----------------------------------------------------------------------------------

ALL_COMMANDS = [
    ("describe", "{q}"),
    ("call", "{q}", "reserve", "{{}}"),
    ("generate", "{q}", "--out", "out"),
    ("docs", "{q}", "--out", "out"),
    ("asyncapi", "{q}", "--out", "out"),
    ("breaking", "{file}", "--against", "{q}"),
    ("lint", "{q}"),
]


def _argv(template: tuple[str, ...], source: str) -> list[str]:
    return [part.format(q=source, file="inventory.yaml") for part in template]


@pytest.mark.parametrize("template", ALL_COMMANDS, ids=lambda t: t[0])
def test_a_queue_nobody_serves_fails_at_once(
    template: tuple[str, ...], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"queue:leveret.test.nobody.{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    status, out, err = leveret_command(capsys, *_argv(template, source))
    assert time.monotonic() - began < 1.0
    # breaking keeps its own exit status for a side it cannot read (1 means "breaking")
    assert status == (2 if template[0] == "breaking" else 1)
    assert out == ""
    assert err.startswith(
        f"leveret {template[0]}: {source}: UNAVAILABLE: no queue {source[6:]!r} to take "
        "'leveret.describe': is the service running?"
    )
    assert err.count("\n") == 1  # one line
    assert not Path("out").exists()


@pytest.mark.parametrize("template", ALL_COMMANDS, ids=lambda t: t[0])
def test_a_worker_without_reflection(
    template: tuple[str, ...],
    amqp_url: str,
    queue: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Worker(reflection=False) answers UNIMPLEMENTED, as an older leveret or another
    implementation does."""
    with leveret.Worker(Inventory(), url=amqp_url, queue=queue, reflection=False):
        status, out, err = leveret_command(capsys, *_argv(template, f"queue:{queue}"))
    assert status == (2 if template[0] == "breaking" else 1)
    assert out == ""
    assert err.count("\n") == 1  # one line
    assert err.startswith(
        f"leveret {template[0]}: queue:{queue}: UNIMPLEMENTED: the worker on queue {queue!r} "
    )
    assert "does not describe itself" in err
    assert not Path("out").exists()


@contextlib.contextmanager
def _raw_describer(url: str, queue: str, definition: Any) -> Iterator[None]:
    """A raw pika server answering leveret.describe with ``definition``, while in use."""
    body = json.dumps(
        {"definition": definition, "fingerprint": "sha256:0", "methods": {}, "leveret": "9"}
    ).encode()

    def answer(properties: Any, _body: bytes) -> tuple[str, bytes, str, float]:
        assert properties.type == "leveret.describe"
        return "OK", body, "application/json", 0.0

    server = RawServer(url, queue, answer)
    try:
        yield
    finally:
        server.close()


HOSTILE: dict[str, Any] = {
    "leveret": 1,
    "package": "evil",
    "service": "Evil",
    "version": "1",
    "types": {
        "Secret": {"$ref": "../../../../etc/leveret-secret.yaml#/types/Key"},
        "Odd": {"type": "strin"},
    },
    "methods": {
        "get": {"request": {"$ref": "#/types/Secret"}, "response": {"type": "object"}},
    },
}


@pytest.mark.parametrize(
    "template", [t for t in ALL_COMMANDS if t[0] not in ("breaking", "lint")], ids=lambda t: t[0]
)
def test_a_definition_that_does_not_load_gets_located_diagnostics_and_nothing_is_generated(
    template: tuple[str, ...],
    amqp_url: str,
    queue: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _raw_describer(amqp_url, queue, HOSTILE):
        status, out, err = leveret_command(capsys, *_argv(template, f"queue:{queue}"))
    assert status == (2 if template[0] == "call" else 1)
    # line:col of the YAML `leveret describe` prints: the comment is line 1
    assert f"queue:{queue}:10:11: error[LV204]" in err  # type: strin
    assert '"strin" is not allowed for types.Odd.type' in err
    # a reference to a file names nothing: a described definition reads no local file
    assert (
        f"queue:{queue}:8:11: error[LV302]: $ref to '../../../../etc/leveret-secret.yaml': "
        "no such file"
    ) in err
    if template[0] == "describe":
        assert out.splitlines()[9] == "    type: strin"
    else:
        assert out == ""
    assert not Path("out").exists()


def test_a_reference_to_a_local_file_is_never_followed(
    amqp_url: str,
    queue: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A described definition is self-contained: its $ref to a file names nothing, even when
    that file exists here."""
    monkeypatch.setenv("AMQP_URL", amqp_url)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    Path("lib.yaml").write_text(
        "leveret: 1\ntypes:\n  Key: {type: object, properties: {k: {type: string}}}\n",
        encoding="utf-8",
    )
    hostile = {
        **HOSTILE,
        "types": {"Secret": {"$ref": "lib.yaml#/types/Key"}},
    }
    with _raw_describer(amqp_url, queue, hostile):
        status, _, err = leveret_command(capsys, "generate", f"queue:{queue}", "--out", "out")
    assert status == 1
    assert f"queue:{queue}:8:11: error[LV302]: $ref to 'lib.yaml': no such file" in err
    assert not Path("out").exists()


def test_breaking_against_a_definition_that_does_not_load(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _raw_describer(amqp_url, queue, HOSTILE):
        status, out, err = leveret_command(
            capsys, "breaking", "inventory.yaml", "--against", f"queue:{queue}"
        )
    assert status == 2  # as for an old definition file that cannot be read
    assert out == ""
    assert f"the old definitions (queue:{queue}) cannot be read" in err
    assert f"queue:{queue}:10:11: error[LV204]" in err


def test_lint_a_definition_that_does_not_load(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lint reports what it finds (on stdout, as for a file): the same located diagnostics."""
    with _raw_describer(amqp_url, queue, HOSTILE):
        status, out, err = leveret_command(capsys, "lint", f"queue:{queue}", "--format", "json")
    assert (status, err) == (1, "")
    findings = json.loads(out)["findings"]
    located = {(f["file"], f["line"], f["col"], f["rule"]) for f in findings}
    assert (f"queue:{queue}", 10, 11, "DEFINITION_VALID") in located  # type: strin
    assert (f"queue:{queue}", 8, 11, "DEFINITION_VALID") in located  # the $ref to a file


def _nested(depth: int) -> Any:
    value: Any = {"type": "string"}
    for _ in range(depth):
        value = {"allOf": [value]}
    return value


@pytest.mark.parametrize("template", ALL_COMMANDS, ids=lambda t: t[0])
def test_a_definition_nested_too_deep_is_refused_like_a_file(
    template: tuple[str, ...],
    amqp_url: str,
    queue: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nested deeper than the loader takes (but not so deep that the reply's JSON is refused):
    the same LV105 as a file, and nothing generated."""
    deep = {**HOSTILE, "types": {"Deep": _nested(70)}}
    with _raw_describer(amqp_url, queue, deep):
        status, out, err = leveret_command(capsys, *_argv(template, f"queue:{queue}"))
    assert status == (2 if template[0] in ("breaking", "call") else 1)
    reported = err if template[0] != "lint" else out
    assert f"queue:{queue}:1:101: error[" in reported
    assert "LV105: nested too deeply" in reported or "error[LV105]: nested too deeply" in reported
    assert not Path("out").exists()


# -- what a hostile definition's keys can do to a terminal or a CI log (r12 finding 7) ----------

FORGED = "x\n::error file=README.md,line=1::forged\n"
STEERING = "\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\u202e\x85\u2028"


def _with_hostile_keys() -> dict[str, Any]:
    definition = yaml.safe_load((ROOT / "schemas" / "inventory.yaml").read_text())
    definition["types"] = {
        "Sku": {"type": "string"},
        "ReserveRequest": {
            "type": "object",
            "properties": {
                "sku": {"$ref": "#/types/Sku"},
                FORGED: {"type": "string", "format": "bogus"},
                STEERING: {"type": "string", "format": "bogus"},
            },
        },
    }
    definition["methods"] = {
        "reserve": {"request": {"$ref": "#/types/ReserveRequest"}, "response": {"type": "object"}}
    }
    definition["errors"] = {}
    return definition


def _assert_nothing_steers(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("::error file=README.md"), line
    for character in "\x1b\x07\u202e\x85\u2028":
        assert character not in text


@pytest.mark.parametrize(
    "argv",
    [
        ("generate", "{q}", "--out", "out"),
        ("lint", "{q}", "--format", "github"),
        ("lint", "{q}", "--format", "json"),
        ("lint", "{q}"),
        ("breaking", "{q}", "--against", "{file}", "--format", "github"),
        ("breaking", "{file}", "--against", "{q}", "--format", "github"),
    ],
    ids=" ".join,
)
def test_keys_of_a_described_definition_are_escaped_in_diagnostics(
    argv: tuple[str, ...],
    amqp_url: str,
    queue: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _raw_describer(amqp_url, queue, _with_hostile_keys()):
        status, out, err = leveret_command(capsys, *_argv(argv, f"queue:{queue}"))
    assert status != 0
    _assert_nothing_steers(out + err)
    assert "::error file=README.md,line=1::forged" in out + err  # shown, inside a line


def test_docs_of_a_described_definition_carry_no_html_of_it(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = yaml.safe_load((ROOT / "schemas" / "calculator.yaml").read_text())
    definition["description"] = "Sums.<script>alert(1)</script> [x](javascript:alert(2))"
    with _raw_describer(amqp_url, queue, definition):
        status, _, err = leveret_command(
            capsys, "docs", f"queue:{queue}", "--out", "out", "--trust-queue"
        )
    assert status == 0, err
    (page,) = Path("out").iterdir()
    text = page.read_text()
    assert "<script>" not in text and "](javascript:" not in text
    assert "Sums.&lt;script&gt;alert(1)&lt;/script&gt; [x]\\(javascript:alert(2))" in text


def test_describe_a_definition_of_types_only_exits_1_as_for_a_file(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = yaml.safe_load((ROOT / "schemas" / "common.yaml").read_text())
    assert "service" not in library
    with _raw_describer(amqp_url, queue, library):
        status, out, err = leveret_command(capsys, "describe", f"queue:{queue}")
    assert status == 1
    assert out.splitlines()[1:3] == ["leveret: 1", f"description: {library['description']}"]
    assert err == f"leveret describe: queue:{queue} defines no service\n"
    status, _, err = leveret_command(capsys, "describe", str(ROOT / "schemas" / "common.yaml"))
    assert status == 1 and err.endswith("defines no service\n")


# -- a service claiming another's queue (r12 finding 9) -----------------------------------------


def _claiming(queue: str) -> dict[str, Any]:
    definition = yaml.safe_load((ROOT / "schemas" / "calculator.yaml").read_text())
    definition["package"] = "shop"
    definition["queue"] = queue
    return definition


@pytest.mark.parametrize("command", ["generate", "docs", "asyncapi"])
def test_a_definition_naming_another_queue_is_refused(
    command: str, amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _raw_describer(amqp_url, queue, _claiming("evil.Inventory")):
        status, out, err = leveret_command(capsys, command, f"queue:{queue}", "--out", "out")
        assert (status, out) == (1, "")
        assert err == (
            f"leveret {command}: queue:{queue}: the service there describes itself as served on "
            f"queue 'evil.Inventory', not {queue!r}: what {command} writes would name "
            "'evil.Inventory', so nothing is written. If its workers serve the definition on "
            "another queue on purpose, pass --trust-queue\n"
        )
        assert not Path("out").exists()
        status, out, err = leveret_command(
            capsys, command, f"queue:{queue}", "--out", "out", "--trust-queue"
        )
    assert status == 0
    assert "warning" in err and "'evil.Inventory'" in err
    assert Path("out").exists()


def test_a_definition_naming_its_own_queue_needs_no_flag(
    amqp_url: str, queue: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _raw_describer(amqp_url, queue, _claiming(queue)):
        status, _, err = leveret_command(capsys, "generate", f"queue:{queue}", "--out", "out")
    assert (status, err) == (0, "")
    assert Path("out", "shop", "_spec.py").exists()


def test_server_user_accepts_the_description_only_from_that_user(
    served: str, amqp_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    login = pika.URLParameters(amqp_url).credentials.username
    status, out, _ = leveret_command(capsys, "describe", served, "--server-user", login)
    assert status == 0 and "service: Inventory" in out
    status, out, err = leveret_command(capsys, "describe", served, "--server-user", "inventory-svc")
    assert (status, out) == (1, "")
    assert err.startswith(f"leveret describe: {served}: DEADLINE_EXCEEDED")


def test_call_server_user_applies_to_the_description_too(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = leveret_command(
        capsys, "call", served, "reserve", "{}", "--server-user", "inventory-svc"
    )
    assert (status, out) == (1, "")
    assert f"{served}: DEADLINE_EXCEEDED" in err
