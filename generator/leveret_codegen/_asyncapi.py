"""An AsyncAPI 3.0 document per service: what ``leveret asyncapi`` writes.

The mapping (docs/schema-review.md shows it on an example):

- ``channels.requests``: the service queue (``address`` = queue name; AMQP channel binding
  ``is: queue``, durable, not exclusive, not auto-delete). Its messages are every method's
  request, ``<method>.request``, told apart by the AMQP ``type`` property (message binding
  ``messageType``).
- ``channels.replies``: the caller's reply queue, ``address: null`` because it is dynamic (the
  request's ``reply_to``, usually ``amq.rabbitmq.reply-to``). Its messages are every method's
  ``<method>.reply``, one ``error.<Error>`` per declared error and ``error.RpcError`` for the
  statuses leveret produces itself.
- ``operations.<method>``: ``action: receive`` (server view, the default) or ``send`` (client
  view), the request message, AMQP operation binding, and ``reply`` with
  ``address.location: $message.header#/reply_to`` (AsyncAPI has no runtime expression for AMQP
  properties; the official AMQP RPC examples use ``$message.header#/…`` for them, and so do we),
  the reply channel and the method's reply and error messages. Timeout and idempotency have no
  core field: ``x-rpc-timeout-ms`` and ``x-rpc-idempotent``.
- Every message has ``correlationId`` ``$message.header#/correlation_id``; requests declare the
  ``rpc-deadline`` header, replies the ``rpc-status`` header (``OK`` or the error's status).
- ``components.schemas``: the definition's types under their own names (``$ref``s rewritten to
  ``#/components/schemas/<Name>``), plus ``leveret.ErrorBody`` and ``leveret.<Error>.ErrorBody``;
  the dot keeps them from clashing with PascalCase type names.

``check_references`` checks what the official JSON Schema does not: every ``$ref`` resolves,
operation messages belong to the operation's channel, reply messages to the reply channel, and a
reply channel named by a dynamic address has no address of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final, Literal

import yaml

from leveret_codegen._ir import ServiceDef

__all__ = [
    "STATUSES",
    "asyncapi_document",
    "asyncapi_file_name",
    "check_references",
    "dump_yaml",
]

JSON = Any
View = Literal["server", "client"]

#: Status names other than OK (docs/wire-protocol.md §6).
STATUSES: Final = (
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)

_BINDING_VERSION: Final = "0.3.0"
_CORRELATION: Final = {"$ref": "#/components/correlationIds/correlationId"}


def asyncapi_file_name(service: ServiceDef, view: View = "server") -> str:
    """The document's file name inside the output folder."""
    suffix = "" if view == "server" else ".client"
    return f"{service.package}{suffix}.asyncapi.yaml"


def _rewrite_refs(schema: JSON) -> JSON:
    if isinstance(schema, dict):
        result: dict[str, JSON] = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                result[key] = "#/components/schemas/" + value.removeprefix("#/$defs/")
            elif key in ("examples", "default", "const", "enum"):
                result[key] = value
            else:
                result[key] = _rewrite_refs(value)
        return result
    if isinstance(schema, list):
        return [_rewrite_refs(v) for v in schema]
    return schema


def _schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_body(code: JSON, error: JSON, details: JSON, description: str) -> dict[str, JSON]:
    return {
        "type": "object",
        "description": description,
        "required": ["code", "message", "error", "details"],
        "properties": {
            "code": code,
            "message": {"type": "string", "description": "A human-readable message."},
            "error": error,
            "details": details,
        },
    }


def _status_header(status: JSON, description: str) -> dict[str, JSON]:
    return {
        "type": "object",
        "required": ["rpc-status"],
        "properties": {"rpc-status": {**status, "description": description}},
    }


def asyncapi_document(service: ServiceDef, view: View = "server") -> dict[str, JSON]:
    """The AsyncAPI 3.0.0 document of ``service``, from the server's or the client's view."""
    defs = json.loads(service.models_schema).get("$defs", {})
    schemas: dict[str, JSON] = {name: _rewrite_refs(s) for name, s in defs.items()}
    schemas["leveret.ErrorBody"] = _error_body(
        {"type": "string", "enum": list(STATUSES), "description": "The status name."},
        {
            "type": ["string", "null"],
            "description": "The declared error's name, or null for a plain status.",
        },
        {"description": "Validation errors for INVALID_ARGUMENT, otherwise null."},
        "The body of an error reply with any status (docs/wire-protocol.md §4).",
    )
    messages: dict[str, JSON] = {}
    request_refs: dict[str, JSON] = {}
    reply_refs: dict[str, JSON] = {}
    for method in service.methods:
        key = f"{method.name}.request"
        headers: dict[str, JSON] = {
            "type": "object",
            "properties": {
                "rpc-deadline": {
                    "type": "integer",
                    "description": "Absolute deadline of the call, Unix time in milliseconds "
                    "(an AMQP application header, sent when the call has a deadline).",
                }
            },
        }
        messages[key] = {
            "name": key,
            "title": f"{method.name} request",
            "summary": method.description or f"Request of {method.name}.",
            "contentType": "application/json",
            "correlationId": _CORRELATION,
            "headers": headers,
            "payload": _schema_ref(method.request_type),
            "bindings": {"amqp": {"messageType": method.name, "bindingVersion": _BINDING_VERSION}},
        }
        request_refs[key] = {"$ref": f"#/components/messages/{key}"}
        key = f"{method.name}.reply"
        messages[key] = {
            "name": key,
            "title": f"{method.name} reply",
            "summary": f"Successful reply of {method.name} (rpc-status OK).",
            "contentType": "application/json",
            "correlationId": _CORRELATION,
            "headers": _status_header({"const": "OK"}, "OK: the body is the response."),
            "payload": _schema_ref(method.response_type),
        }
        reply_refs[key] = {"$ref": f"#/components/messages/{key}"}
    for error in service.errors:
        schema_name = f"leveret.{error.name}.ErrorBody"
        details: JSON = (
            {"type": "null"} if error.details_type is None else _schema_ref(error.details_type)
        )
        schemas[schema_name] = _error_body(
            {"const": error.status},
            {"const": error.name},
            details,
            f"The body of the declared error {error.name}.",
        )
        key = f"error.{error.name}"
        messages[key] = {
            "name": key,
            "title": f"{error.name} error reply",
            "summary": error.description or f"The declared error {error.name}.",
            "contentType": "application/json",
            "correlationId": _CORRELATION,
            "headers": _status_header({"const": error.status}, "The error's status."),
            "payload": _schema_ref(schema_name),
        }
        reply_refs[key] = {"$ref": f"#/components/messages/{key}"}
    messages["error.RpcError"] = {
        "name": "error.RpcError",
        "title": "Error reply",
        "summary": "An error reply with a status leveret produces itself (INVALID_ARGUMENT, "
        "UNIMPLEMENTED, INTERNAL, ...) or an undeclared status.",
        "contentType": "application/json",
        "correlationId": _CORRELATION,
        "headers": _status_header({"type": "string", "enum": list(STATUSES)}, "The status name."),
        "payload": _schema_ref("leveret.ErrorBody"),
    }
    reply_refs["error.RpcError"] = {"$ref": "#/components/messages/error.RpcError"}

    operations: dict[str, JSON] = {}
    for method in service.methods:
        binding: dict[str, JSON] = {"ack": True} if view == "server" else {}
        if method.timeout is not None:
            binding["expiration"] = _milliseconds(method.timeout)
        binding |= {"mandatory": True, "deliveryMode": 1, "bindingVersion": _BINDING_VERSION}
        reply_messages = [{"$ref": f"#/channels/replies/messages/{method.name}.reply"}]
        reply_messages += [
            {"$ref": f"#/channels/replies/messages/error.{name}"} for name in method.errors
        ]
        reply_messages.append({"$ref": "#/channels/replies/messages/error.RpcError"})
        operation: dict[str, JSON] = {
            "action": "receive" if view == "server" else "send",
            "channel": {"$ref": "#/channels/requests"},
            "title": method.name,
            "summary": method.description or method.name,
            "messages": [{"$ref": f"#/channels/requests/messages/{method.name}.request"}],
            "bindings": {"amqp": binding},
            "reply": {
                "address": {
                    "description": "The AMQP reply_to property of the request.",
                    "location": "$message.header#/reply_to",
                },
                "channel": {"$ref": "#/channels/replies"},
                "messages": reply_messages,
            },
            "x-rpc-idempotent": method.idempotent,
        }
        if method.timeout is not None:
            operation["x-rpc-timeout-ms"] = _milliseconds(method.timeout)
        operations[method.name] = operation

    description = (f"{service.description}\n\n" if service.description else "") + (
        f"Generated by `leveret asyncapi` from {service.source}; do not edit. "
        + (
            "Server view: the service receives requests and sends replies."
            if view == "server"
            else "Client view: the caller sends requests and receives replies."
        )
        + " Requests go to the default exchange with the queue name as routing key; see "
        "docs/wire-protocol.md."
    )
    return {
        "asyncapi": "3.0.0",
        "id": f"urn:leveret:{service.package}:{service.service}",
        "info": {
            "title": service.service,
            "version": service.version or "unversioned",
            "description": description,
        },
        "defaultContentType": "application/json",
        "channels": {
            "requests": {
                "address": service.queue,
                "title": f"{service.service} requests",
                "description": f"The request queue of {service.service}, a durable "
                f"{service.queue_type} queue (x-queue-type); the AMQP `type` property names the "
                "method.",
                "messages": request_refs,
                "bindings": {
                    "amqp": {
                        "is": "queue",
                        "queue": {
                            "name": service.queue,
                            "durable": True,
                            "exclusive": False,
                            "autoDelete": False,
                            "vhost": "/",
                        },
                        "bindingVersion": _BINDING_VERSION,
                    }
                },
            },
            "replies": {
                "address": None,
                "title": f"{service.service} replies",
                "description": "The caller's reply queue, named by the request's reply_to "
                "property: RabbitMQ direct reply-to (amq.rabbitmq.reply-to) by default, or an "
                "exclusive auto-delete queue of the client.",
                "messages": reply_refs,
            },
        },
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "correlationIds": {
                "correlationId": {
                    "description": "The AMQP correlation_id property; the reply copies it "
                    "from the request.",
                    "location": "$message.header#/correlation_id",
                }
            },
        },
    }


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class _Dumper(yaml.SafeDumper):
    """No anchors or aliases: every repeated object is written out."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: Mapping[str, JSON]) -> str:
    """The document as YAML: key order as built, no aliases, unicode kept."""
    text = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return f"# Generated by `leveret asyncapi`. Do not edit: regenerate.\n{text}"


# --- reference checks ----------------------------------------------------------------------


def _resolve(document: JSON, ref: str) -> tuple[bool, JSON]:
    if not ref.startswith("#"):
        return False, None
    node = document
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _refs(node: JSON, path: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield path, ref
        for key, value in node.items():
            if key not in ("examples", "default", "const", "enum"):
                escaped = str(key).replace("~", "~0").replace("/", "~1")
                yield from _refs(value, f"{path}/{escaped}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, f"{path}/{index}")


def _channel_of(ref: JSON) -> str | None:
    if isinstance(ref, Mapping) and isinstance(ref.get("$ref"), str):
        parts = ref["$ref"].split("/")
        if len(parts) == 3 and parts[:2] == ["#", "channels"]:
            return str(parts[2])
    return None


def _check_messages(
    found: list[str], where: str, messages: JSON, channel: str, document: JSON
) -> None:
    if not isinstance(messages, list):
        return
    prefix = f"#/channels/{channel}/messages/"
    for index, message in enumerate(messages):
        ref = message.get("$ref") if isinstance(message, Mapping) else None
        if not isinstance(ref, str) or not ref.startswith(prefix):
            found.append(f"{where}/{index}: {ref!r} is not a message of channel {channel!r}")
        elif not _resolve(document, ref)[0]:
            found.append(f"{where}/{index}: channel {channel!r} has no message {ref!r}")


def check_references(document: Mapping[str, JSON]) -> list[str]:
    """What the AsyncAPI JSON Schema does not check; [] when the document is consistent."""
    found = [
        f"{path}: $ref {ref!r} does not resolve"
        for path, ref in _refs(document)
        if not _resolve(document, ref)[0]
    ]
    channels = document.get("channels", {})
    for name, channel in channels.items() if isinstance(channels, Mapping) else []:
        messages = channel.get("messages", {}) if isinstance(channel, Mapping) else {}
        for key, message in messages.items():
            ok, target = (
                _resolve(document, message.get("$ref", "#"))
                if "$ref" in message
                else (
                    True,
                    message,
                )
            )
            if ok and not (isinstance(target, Mapping) and "payload" in target):
                found.append(f"#/channels/{name}/messages/{key}: not a message with a payload")
    operations = document.get("operations", {})
    for name, operation in operations.items() if isinstance(operations, Mapping) else []:
        where = f"#/operations/{name}"
        channel = _channel_of(operation.get("channel"))
        if channel is None or channel not in channels:
            found.append(f"{where}/channel: not a channel of this document")
        else:
            _check_messages(
                found, f"{where}/messages", operation.get("messages"), channel, document
            )
        reply = operation.get("reply")
        if not isinstance(reply, Mapping):
            continue
        reply_channel = _channel_of(reply.get("channel"))
        if reply_channel is None or reply_channel not in channels:
            found.append(f"{where}/reply/channel: not a channel of this document")
            continue
        _check_messages(
            found, f"{where}/reply/messages", reply.get("messages"), reply_channel, document
        )
        if "address" in reply and channels[reply_channel].get("address") is not None:
            found.append(
                f"{where}/reply: has an address, so channel {reply_channel!r} must have a null "
                "address"
            )
    return found
