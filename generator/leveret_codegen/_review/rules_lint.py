"""The rules of ``leveret lint``: ID, category, severity and a one-line rationale each.

Errors fail the run; warnings never do (ignore one with a reason, see ``ignores``).
"""

from __future__ import annotations

from typing import Final

from leveret_codegen._review.findings import Level, Rule, RuleSet

__all__ = ["LINT_RULES"]

_E, _W = Level.ERROR, Level.WARNING

LINT_RULES: Final = RuleSet(
    Rule(*row)
    for row in (
        (
            "DEFINITION_VALID",
            "DEFINITION",
            _E,
            "the generator accepts the definition (`leveret generate` would run)",
        ),
        (
            "KEYWORD_NOT_ENFORCED",
            "SCHEMA",
            _E,
            "no JSON Schema keyword the generated models would silently not enforce",
        ),
        ("KEYWORD_NO_EFFECT", "SCHEMA", _W, "no annotation keyword the generated models ignore"),
        (
            "SERVICE_PASCAL_CASE",
            "NAMING",
            _E,
            "the service is PascalCase: generated classes are named after it",
        ),
        ("TYPE_PASCAL_CASE", "NAMING", _E, "types are PascalCase: they become model classes"),
        (
            "ERROR_PASCAL_CASE",
            "NAMING",
            _E,
            "declared errors are PascalCase: they become exception classes",
        ),
        ("METHOD_SNAKE_CASE", "NAMING", _E, "methods are snake_case: they become Python methods"),
        (
            "PROPERTY_SNAKE_CASE",
            "NAMING",
            _E,
            "properties are snake_case: wire name and attribute stay the same",
        ),
        (
            "SERVICE_DESCRIPTION",
            "DOCS",
            _W,
            "the service says what it does (the package docstring)",
        ),
        (
            "METHOD_DESCRIPTION",
            "DOCS",
            _W,
            "every method says what it does (client and servicer docstrings)",
        ),
        (
            "TYPE_DESCRIPTION",
            "DOCS",
            _W,
            "every named type says what it holds (the model docstring)",
        ),
        (
            "ERROR_DESCRIPTION",
            "DOCS",
            _W,
            "every declared error says when it happens (the exception docstring)",
        ),
        (
            "METHOD_TIMEOUT",
            "BEHAVIOUR",
            _W,
            "every method states a default deadline (`timeout: null` for none, on purpose)",
        ),
        (
            "METHOD_IDEMPOTENT",
            "BEHAVIOUR",
            _W,
            "every method states `idempotent`: clients retry idempotent methods",
        ),
        (
            "REQUEST_CLOSED",
            "EVOLUTION",
            _W,
            "request-only objects are closed (`additionalProperties: false`): a misspelt field "
            "fails; objects shared with responses are split instead, free-form ones state their "
            "values, allOf members stay open (closing one is refused); closing a request already "
            "in use is itself breaking",
        ),
        (
            "RESPONSE_TOLERANT",
            "EVOLUTION",
            _W,
            "response (and shared) objects are open: the service can add properties without "
            "breaking callers; opening a response already in use is itself breaking",
        ),
        (
            "TYPE_UNUSED",
            "USAGE",
            _W,
            "every type of a service definition is used (types of a library are exports)",
        ),
        ("ERROR_UNUSED", "USAGE", _W, "every declared error is raised by some method"),
    )
)
