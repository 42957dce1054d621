"""``leveret asyncapi``: every document passes the official AsyncAPI 3.0.0 JSON Schema and the
reference checks the schema cannot do.

The official schema is vendored in ``asyncapi_schema/`` (``@asyncapi/specs`` 6.11.1; see its
README). Validation follows ``shared/reference/asyncapi.md``: Draft 7, every bundled definition
registered under its own ``$id`` in a ``referencing`` registry. The documents of ``schemas/`` are
golden files in ``tests/review/golden/`` (rewrite with ``LEVERET_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from leveret._cli import main
from leveret_codegen._asyncapi import (
    asyncapi_document,
    asyncapi_file_name,
    check_references,
    dump_yaml,
)
from leveret_codegen._docs import service_examples
from leveret_codegen._examples import format_checker
from leveret_codegen._frontend import load_services
from leveret_codegen._ir import ServiceDef

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = HERE / "golden"
SCHEMA_FILE = HERE / "asyncapi_schema" / "3.0.0.json"
SCHEMA_SHA256 = "d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626"
UPDATE = os.environ.get("LEVERET_UPDATE_GOLDEN") == "1"
VIEWS = ("server", "client")

# Runtime expression ABNF of AsyncAPI 3.0: "$message" "." ("header" | "payload") ["#" pointer]
RUNTIME_EXPRESSION = re.compile(r"^\$message\.(header|payload)(#(/([^/~]|~[01])*)*)?$")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@cache
def _validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    resources = [(uri, DRAFT7.create_resource(s)) for uri, s in schema["definitions"].items()]
    resources.append((schema["$id"], DRAFT7.create_resource(schema)))
    return Draft7Validator(schema, registry=Registry().with_resources(resources))


def _schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator().iter_errors(document)
    ]


@cache
def _services() -> tuple[ServiceDef, ...]:
    with contextlib.chdir(ROOT):  # sources are named relative to the repository, as in CI
        services, diagnostics = load_services(["schemas"])
    assert services, diagnostics
    return services


def _loaded(service: ServiceDef, view: str = "server") -> Any:
    """The document as a reader gets it: through the YAML text."""
    return yaml.safe_load(dump_yaml(asyncapi_document(service, view)))  # type: ignore[arg-type]


def _cases() -> list[tuple[str, str]]:
    return [(s.package, v) for s in _services() for v in VIEWS]


def _service(package: str) -> ServiceDef:
    return next(s for s in _services() if s.package == package)


def test_vendored_schema_is_the_pinned_one() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    readme = (HERE / "asyncapi_schema" / "README.md").read_text(encoding="utf-8")
    assert "6.11.1" in readme and SCHEMA_SHA256 in readme
    assert (HERE / "asyncapi_schema" / "LICENSE").is_file()
    definitions = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["definitions"]
    for part in ("channel", "operation", "message"):
        assert f"http://asyncapi.com/bindings/amqp/0.3.0/{part}.json" in definitions


def test_every_definition_is_covered() -> None:
    assert {s.package for s in _services()} == {"calculator", "shop", "library"}


@pytest.mark.parametrize(("package", "view"), _cases())
def test_document_passes_the_official_schema(package: str, view: str) -> None:
    assert _schema_errors(_loaded(_service(package), view)) == []


@pytest.mark.parametrize(("package", "view"), _cases())
def test_document_references_are_consistent(package: str, view: str) -> None:
    assert check_references(_loaded(_service(package), view)) == []


@pytest.mark.parametrize(("package", "view"), _cases())
def test_document_matches_golden(package: str, view: str) -> None:
    service = _service(package)
    text = dump_yaml(asyncapi_document(service, view))  # type: ignore[arg-type]
    golden = GOLDEN / asyncapi_file_name(service, view)  # type: ignore[arg-type]
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), "run with LEVERET_UPDATE_GOLDEN=1 to create the golden file"
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("package", ["calculator", "shop", "library"])
def test_request_reply_mapping(package: str) -> None:
    service = _service(package)
    document = _loaded(service)
    correlation = document["components"]["correlationIds"]["correlationId"]
    assert correlation["location"] == "$message.header#/correlation_id"
    assert RUNTIME_EXPRESSION.match(correlation["location"])
    requests = document["channels"]["requests"]
    assert requests["address"] == service.queue
    assert requests["bindings"]["amqp"]["queue"]["name"] == service.queue
    assert requests["bindings"]["amqp"]["queue"]["durable"] is True
    assert document["channels"]["replies"]["address"] is None
    messages = document["components"]["messages"]
    for method in service.methods:
        operation = document["operations"][method.name]
        assert operation["action"] == "receive"
        reply = operation["reply"]
        assert reply["address"]["location"] == "$message.header#/reply_to"
        assert RUNTIME_EXPRESSION.match(reply["address"]["location"])
        request = messages[f"{method.name}.request"]
        assert request["bindings"]["amqp"]["messageType"] == method.name
        assert request["contentType"] == "application/json"
        assert "rpc-deadline" in request["headers"]["properties"]
        assert request["payload"] == {"$ref": f"#/components/schemas/{method.request_type}"}
        names = [m["$ref"].rpartition("/")[2] for m in reply["messages"]]
        assert names == [
            f"{method.name}.reply",
            *(f"error.{e}" for e in method.errors),
            "error.RpcError",
        ]
        ok = messages[f"{method.name}.reply"]
        assert ok["headers"]["properties"]["rpc-status"]["const"] == "OK"
        assert operation["x-rpc-idempotent"] is method.idempotent
        if method.timeout is None:
            assert "x-rpc-timeout-ms" not in operation
        else:
            assert operation["x-rpc-timeout-ms"] == round(method.timeout * 1000)
    for error in service.errors:
        message = messages[f"error.{error.name}"]
        assert message["headers"]["properties"]["rpc-status"]["const"] == error.status


def test_client_view_sends() -> None:
    document = _loaded(_service("library"), "client")
    assert {op["action"] for op in document["operations"].values()} == {"send"}
    assert "ack" not in document["operations"]["get_book"]["bindings"]["amqp"]


@pytest.mark.parametrize("package", ["calculator", "shop", "library"])
def test_docs_examples_fit_the_asyncapi_payloads(package: str) -> None:
    """The two commands agree: the Markdown examples validate against the AsyncAPI schemas."""
    service = _service(package)
    document = _loaded(service)
    examples = service_examples(service)[0]

    def check(value: Any, message: str) -> None:
        root = {
            "components": document["components"],
            **document["components"]["messages"][message]["payload"],
        }
        validator = Draft202012Validator(root, format_checker=format_checker())
        assert [e.message for e in validator.iter_errors(value)] == [], message

    for method in service.methods:
        check(examples.methods[method.name].request, f"{method.name}.request")
        check(examples.methods[method.name].reply, f"{method.name}.reply")
    for error in service.errors:
        check(examples.errors[error.name], f"error.{error.name}")
        check(examples.errors[error.name], "error.RpcError")


# --- the checks catch what they should ------------------------------------------------------


def _broken(mutate: Any) -> Any:
    document = copy.deepcopy(_loaded(_service("library")))
    mutate(document)
    return document


def test_official_schema_rejects_broken_documents() -> None:
    def bad_action(d: Any) -> None:
        d["operations"]["get_book"]["action"] = "publish"

    def reply_to_binding(d: Any) -> None:  # AMQP bindings 0.3.0 removed replyTo
        d["operations"]["get_book"]["bindings"]["amqp"]["replyTo"] = "amq.rabbitmq.reply-to"

    def no_location(d: Any) -> None:
        del d["operations"]["get_book"]["reply"]["address"]["location"]

    def bad_channel_binding(d: Any) -> None:
        d["channels"]["requests"]["bindings"]["amqp"]["is"] = "topic"

    for mutate in (bad_action, reply_to_binding, no_location, bad_channel_binding):
        assert _schema_errors(_broken(mutate)), mutate.__name__


def test_reference_checks_catch_what_the_schema_does_not() -> None:
    def dangling_reply_channel(d: Any) -> None:
        d["operations"]["get_book"]["reply"]["channel"] = {"$ref": "#/channels/nowhere"}

    def message_of_another_channel(d: Any) -> None:
        d["operations"]["get_book"]["messages"] = [
            {"$ref": "#/channels/replies/messages/get_book.reply"}
        ]

    def missing_channel_message(d: Any) -> None:
        del d["channels"]["replies"]["messages"]["error.BookNotFound"]

    def dangling_schema(d: Any) -> None:
        del d["components"]["schemas"]["BookId"]

    def addressed_reply_channel(d: Any) -> None:
        d["channels"]["replies"]["address"] = "replies"

    def dangling_component_message(d: Any) -> None:
        del d["components"]["messages"]["get_book.request"]

    cases = {
        dangling_reply_channel: "#/operations/get_book/reply/channel",
        message_of_another_channel: "is not a message of channel 'requests'",
        missing_channel_message: "channel 'replies' has no message",
        dangling_schema: "'#/components/schemas/BookId' does not resolve",
        addressed_reply_channel: "must have a null address",
        dangling_component_message: "'#/components/messages/get_book.request' does not resolve",
    }
    for mutate, expected in cases.items():
        document = _broken(mutate)
        assert _schema_errors(document) == [], mutate.__name__  # the schema lets it pass
        problems = check_references(document)
        assert any(expected in p for p in problems), (mutate.__name__, problems)


# --- the command ---------------------------------------------------------------------------


def test_cli_writes_documents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "api"
    assert main(["asyncapi", "schemas", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "calculator.asyncapi.yaml",
        "library.asyncapi.yaml",
        "shop.asyncapi.yaml",
    ]
    assert "wrote " in capsys.readouterr().out
    for path in out.iterdir():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert _schema_errors(document) == []
        assert check_references(document) == []
        assert path.read_text(encoding="utf-8") == (GOLDEN / path.name).read_text(encoding="utf-8")
    assert main(["asyncapi", "schemas", "--out", str(out), "--check"]) == 0
    assert main(["asyncapi", "schemas/inventory.yaml", "--out", str(out), "--view", "client"]) == 0
    assert (out / "shop.client.asyncapi.yaml").is_file()
    assert main(["asyncapi", "schemas", "--out", str(out), "--view", "client", "--check"]) == 1
    assert "calculator.client.asyncapi.yaml is out of date" in capsys.readouterr().out


def test_cli_fails_on_a_broken_definition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("leveret: 1\npackage: bad\nservice: bad\n", encoding="utf-8")
    assert main(["asyncapi", str(bad), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "error[LV205]" in err and "nothing written" in err
    assert not (tmp_path / "out").exists()


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["asyncapi", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "AsyncAPI 3.0" in out and "--view" in out and "$message.header#/reply_to" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["asyncapi", "schemas", "--out", "x", "--view", "sideways"])
    assert exit_info.value.code == 2


def test_edge_definition_passes_too() -> None:
    """The generator's edge-case definition (keywords, hyphens, nullables, defaults)."""
    services, diagnostics = load_services([ROOT / "tests/golden/definitions/edge.yaml"])
    assert services, diagnostics
    for view in VIEWS:
        document = _loaded(services[0], view)
        assert _schema_errors(document) == []
        assert check_references(document) == []


def test_every_validation_keyword_is_carried_as_written() -> None:
    """The payload schemas are the definition's schemas, keyword for keyword (issue 11's
    vocabulary: tuples, contains, property names and patterns, dependencies, not, if/then/else,
    boolean schemas, unevaluated*, enum of any value): only the ``$ref``s are rewritten."""
    source = yaml.safe_load((HERE / "keywords.yaml").read_text(encoding="utf-8"))
    services, diagnostics = load_services([HERE / "keywords.yaml"])
    assert services, diagnostics
    for view in VIEWS:
        document = _loaded(services[0], view)
        assert _schema_errors(document) == []
        assert check_references(document) == []
        schemas = document["components"]["schemas"]
        request = copy.deepcopy(source["methods"]["put"]["request"])
        request["properties"]["l"] = {"$ref": "#/components/schemas/Tag"}
        assert schemas["PutRequest"] == request
        assert schemas["PutResponse"] == source["methods"]["put"]["response"]
        assert schemas["Tag"] == source["types"]["Tag"]
