"""``leveret breaking``: pair the old and new definitions and compare everything they declare.

Definitions are paired by service (package and service name), then by their path relative to
the folder given (or the file name), and a single file on each side is always its own pair.
Findings are about the new definition; something removed is reported where its parent still is,
or in the old file when the whole definition is gone.
"""

from __future__ import annotations

from collections.abc import Sequence

from leveret_codegen._loader import LoadedDocument, Pointer, Position, too_deep
from leveret_codegen._names import pascal_case
from leveret_codegen._review.compare_schema import Role, SchemaComparer
from leveret_codegen._review.findings import Finding
from leveret_codegen._review.rules_breaking import BREAKING_RULES
from leveret_codegen._review.sources import Entry, Schema, Side
from leveret_codegen._walk import iter_schema_roots, iter_subschemas

__all__ = ["compare_sides", "pair_entries"]


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _data(document: LoadedDocument) -> dict[str, object]:
    return _mapping(document.data)


def _identity(entry: Entry) -> tuple[object, object] | None:
    data = _data(entry.document)
    return (data.get("package"), data.get("service")) if "service" in data else None


def pair_entries(
    old: Sequence[Entry], new: Sequence[Entry]
) -> tuple[list[tuple[Entry, Entry]], list[Entry], list[Entry]]:
    """(pairs, old entries without a partner, new entries without a partner)."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], [], []
    pairs: list[tuple[Entry, Entry]] = []
    free = list(old)
    remaining = list(new)
    for match in (_identity, _key):
        unpaired: list[Entry] = []
        for entry in remaining:
            wanted = match(entry)
            partner = next((o for o in free if wanted is not None and match(o) == wanted), None)
            if partner is None:
                unpaired.append(entry)
            else:
                free.remove(partner)
                pairs.append((partner, entry))
        remaining = unpaired
    return pairs, free, remaining


def _key(entry: Entry) -> str:
    return entry.key


def compare_sides(old: Side, new: Side) -> list[Finding]:
    """Every difference between the two versions, deduplicated and unsorted."""
    comparer = SchemaComparer(old, new)
    pairs, removed, added = pair_entries(old.entries, new.entries)
    for old_entry, new_entry in pairs:
        try:
            _Documents(comparer, old_entry.document, new_entry.document).compare()
        except RecursionError:
            _too_deep(new, new_entry.document)
    for entry in removed:
        document = entry.document
        rule = "SERVICE_REMOVED" if "service" in _data(document) else "FILE_REMOVED"
        what = (
            f"service {_data(document).get('service')!r}"
            if rule == "SERVICE_REMOVED"
            else "library"
        )
        position = document.key_position(("service",))
        comparer.findings.append(
            BREAKING_RULES[rule].at(document.path, position, f"{what} ({document.path}) removed")
        )
    for entry in added:
        data = _data(entry.document)
        if "service" in data:
            comparer.findings.append(
                BREAKING_RULES["SERVICE_ADDED"].at(
                    entry.document.path,
                    entry.document.key_position(("service",)),
                    f"service {data['service']!r} added",
                )
            )
    # Types no method of the run reached: their role is unknown, so hold them to both.
    for old_entry, new_entry in pairs:
        for name in _mapping(_data(new_entry.document).get("types")):
            before = old.type_schema(old_entry.document, name)
            after = new.type_schema(new_entry.document, name)
            if before is not None and after is not None and not comparer.compared(before, after):
                try:
                    comparer.compare(before, after, Role.BOTH, name)
                except RecursionError:
                    _too_deep(new, new_entry.document)
    return list(dict.fromkeys(comparer.findings))


def _too_deep(side: Side, document: LoadedDocument) -> None:
    """The comparison recursed too deep, which the nesting check (LV105, when loading) should
    have made impossible: say so with a diagnostic, never a traceback. It goes to the resolver's
    diagnostics, which the command reports after comparing: the definitions cannot be compared.
    """
    diagnostic = too_deep(document.path, 1, 1, "the definition")
    if diagnostic not in side.resolver.diagnostics:
        side.resolver.diagnostics.append(diagnostic)


class _Documents:
    """Compares one pair of definition documents."""

    def __init__(self, comparer: SchemaComparer, old: LoadedDocument, new: LoadedDocument):
        self.comparer = comparer
        self.old, self.new = old, new
        self.old_data, self.new_data = _data(old), _data(new)

    def emit(self, rule: str, position: Position, message: str) -> None:
        self.comparer.findings.append(BREAKING_RULES[rule].at(self.new.path, position, message))

    def parent(self, *pointers: Pointer) -> Position:
        """Where the first of ``pointers`` that still exists in the new document is."""
        for pointer in pointers:
            if pointer in self.new.key_positions:
                return self.new.key_position(pointer)
        return self.new.position(())

    def compare(self) -> None:
        self.service()
        self.methods()
        self.errors()
        self.types()

    def service(self) -> None:
        old, new = self.old_data, self.new_data
        if "service" in old and "service" not in new:
            self.emit(
                "SERVICE_REMOVED",
                self.new.position(()),
                f"service {old['service']!r} removed (the file is a library of types now)",
            )
            return
        if "service" not in old and "service" in new:
            self.emit(
                "SERVICE_ADDED", self.parent(("service",)), f"service {new['service']!r} added"
            )
            return
        if "service" not in new:
            self.description((), "the library")
            return
        for key, rule in (("package", "PACKAGE_CHANGED"), ("service", "SERVICE_RENAMED")):
            if old.get(key) != new.get(key):
                self.emit(rule, self.parent((key,)), f"{key} {old.get(key)!r} -> {new.get(key)!r}")
        queues = [f"{d.get('package')}.{d.get('service')}" for d in (old, new)]
        before, after = (str(d.get("queue", q)) for d, q in zip((old, new), queues, strict=True))
        if before != after:
            self.emit(
                "QUEUE_CHANGED",
                self.parent(("queue",), ("service",)),
                f"queue {before!r} -> {after!r}",
            )
        before, after = (str(d.get("queue_type", "classic")) for d in (old, new))
        if before != after:
            self.emit(
                "QUEUE_TYPE_CHANGED",
                self.parent(("queue_type",), ("queue",), ("service",)),
                f"queue type {before!r} -> {after!r}",
            )
        self.description((), f"service {new['service']}")

    def description(self, pointer: Pointer, what: str) -> None:
        before = _mapping(_lookup(self.old_data, pointer)).get("description")
        after = _mapping(_lookup(self.new_data, pointer)).get("description")
        if before != after:
            self.emit(
                "DESCRIPTION_CHANGED",
                self.parent((*pointer, "description"), pointer),
                f"{what}: description changed",
            )

    # -- methods -----------------------------------------------------------------------------

    def methods(self) -> None:
        old, new = _mapping(self.old_data.get("methods")), _mapping(self.new_data.get("methods"))
        for name in old:
            if name not in new:
                at = self.parent(("methods",), ("service",))
                self.emit("METHOD_REMOVED", at, f"method {name!r} removed")
        for name, spec in new.items():
            if name not in old:
                at = self.new.key_position(("methods", name))
                self.emit("METHOD_ADDED", at, f"method {name!r} added")
            else:
                self.method(name, _mapping(old[name]), _mapping(spec))

    def method(self, name: str, old: dict[str, object], new: dict[str, object]) -> None:
        pointer: Pointer = ("methods", name)
        if old.get("idempotent") is True and new.get("idempotent") is not True:
            at = self.parent((*pointer, "idempotent"), pointer)
            self.emit("METHOD_IDEMPOTENCY_DROPPED", at, f"{name}: no longer idempotent")
        elif old.get("idempotent") is not True and new.get("idempotent") is True:
            at = self.parent((*pointer, "idempotent"))
            self.emit("METHOD_IDEMPOTENCY_ADDED", at, f"{name}: now idempotent")
        self.timeout(name, old.get("timeout"), new.get("timeout"))
        self.method_errors(name, old, new)
        self.description(pointer, name)
        for part, role in (("request", Role.REQUEST), ("response", Role.RESPONSE)):
            before = Schema(self.old, (*pointer, part), _mapping(old.get(part)))
            after = Schema(self.new, (*pointer, part), _mapping(new.get(part)))
            old_type, new_type = (
                self.model_name(before, name, part),
                self.model_name(after, name, part),
            )
            if old_type != new_type:
                self.emit(
                    "REF_TARGET_CHANGED",
                    self.parent((*pointer, part)),
                    f"{name}: the {part} type is now {new_type!r} (was {old_type!r})",
                )
            self.comparer.compare(before, after, role, f"{name}.{part}", check_ref=False)

    def model_name(self, schema: Schema, method: str, part: str) -> str:
        """The generated model's name: the referenced type, or the hoisted inline model."""
        side = self.comparer.old if schema.document is self.old else self.comparer.new
        if "$ref" in schema.data:
            name = side.follow(schema).name
            if name is not None:
                return name
        return pascal_case(method) + part.capitalize()

    def timeout(self, name: str, before: object, after: object) -> None:
        def seconds(value: object) -> float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            return float(value) if ok else float("inf")  # type: ignore[arg-type]

        old, new = seconds(before), seconds(after)
        if old == new:
            return
        shown = f"{name}: timeout {_seconds(before)} -> {_seconds(after)}"
        at = self.parent(("methods", name, "timeout"), ("methods", name))
        self.emit(
            "METHOD_TIMEOUT_SHORTENED" if new < old else "METHOD_TIMEOUT_LENGTHENED", at, shown
        )

    def method_errors(self, name: str, old: dict[str, object], new: dict[str, object]) -> None:
        before = [e for e in old.get("errors") or [] if isinstance(e, str)]  # type: ignore[attr-defined]
        after = [e for e in new.get("errors") or [] if isinstance(e, str)]  # type: ignore[attr-defined]
        for index, error in enumerate(after):
            if error not in before:
                at = self.new.position(("methods", name, "errors", index))
                self.emit("METHOD_ERROR_ADDED", at, f"{name}: may now raise {error}")
        for error in before:
            if error not in after:
                at = self.parent(("methods", name, "errors"), ("methods", name))
                self.emit("METHOD_ERROR_REMOVED", at, f"{name}: no longer raises {error}")

    # -- declared errors ---------------------------------------------------------------------

    def errors(self) -> None:
        old, new = _mapping(self.old_data.get("errors")), _mapping(self.new_data.get("errors"))
        for name in old:
            if name not in new:
                at = self.parent(("errors",), ())
                self.emit("ERROR_REMOVED", at, f"declared error {name!r} removed")
        for name, spec in new.items():
            pointer: Pointer = ("errors", name)
            if name not in old:
                self.emit("ERROR_ADDED", self.new.key_position(pointer), f"error {name!r} added")
                continue
            before, after = _mapping(old[name]), _mapping(spec)
            if before.get("status") != after.get("status"):
                self.emit(
                    "ERROR_STATUS_CHANGED",
                    self.parent((*pointer, "status"), pointer),
                    f"{name}: status {before.get('status')} -> {after.get('status')}",
                )
            self.description(pointer, name)
            details = (before.get("details"), after.get("details"))
            if isinstance(details[0], dict) and isinstance(details[1], dict):
                self.comparer.compare(
                    Schema(self.old, (*pointer, "details"), details[0]),
                    Schema(self.new, (*pointer, "details"), details[1]),
                    Role.RESPONSE,
                    f"{name}.details",
                )
            elif isinstance(details[0], dict):
                self.emit("ERROR_DETAILS_REMOVED", self.parent(pointer), f"{name}: details removed")
            elif isinstance(details[1], dict):
                at = self.parent((*pointer, "details"))
                self.emit("ERROR_DETAILS_ADDED", at, f"{name}: details added")

    # -- named types -------------------------------------------------------------------------

    def types(self) -> None:
        old, new = _mapping(self.old_data.get("types")), _mapping(self.new_data.get("types"))
        added = [name for name in new if name not in old]
        renamed: set[str] = set()
        for name in old:
            if name in new:
                continue
            before = Schema(self.old, ("types", name), _mapping(old[name]), name)
            twin = next(
                (
                    other
                    for other in added
                    if other not in renamed
                    and self.comparer.same_structure(
                        before, Schema(self.new, ("types", other), _mapping(new[other]), other)
                    )
                ),
                None,
            )
            moved = self.exported().get(name) if twin is None else None
            if moved is not None:
                # Moved to a file this one references: the package still has the model, so
                # only what changed in the type is a finding.
                if not self.comparer.compared(before, moved):
                    self.comparer.compare(before, moved, Role.BOTH, name)
            elif twin is None:
                at = self.parent(("types",), ())
                self.emit("TYPE_REMOVED", at, f"type {name!r} removed")
            else:
                renamed.add(twin)
                at = self.new.key_position(("types", twin))
                self.emit("TYPE_RENAMED", at, f"type {name!r} renamed to {twin!r}, same structure")
        for name in added:
            if name not in renamed:
                self.emit(
                    "TYPE_ADDED", self.new.key_position(("types", name)), f"type {name!r} added"
                )

    def exported(self) -> dict[str, Schema]:
        """The types of other files the new definition uses, transitively, by name: the
        generator copies them into its package, which exports them like its own types."""
        side = self.comparer.new
        found: dict[str, Schema] = {}
        seen: set[tuple[str, str]] = set()
        # (document, pointer, schema) still to look through; a stack, not recursion: chains of
        # types can be long. Only the types reached count, not everything their files hold.
        pending: list[tuple[LoadedDocument, Pointer, dict[str, object]]] = [
            (self.new, pointer, data) for pointer, data in iter_schema_roots(self.new.data)
        ]
        while pending:
            document, at, schema = pending.pop()
            for pointer, data in iter_subschemas(at, schema):
                ref = data.get("$ref")
                if not isinstance(ref, str):
                    continue
                target = side.resolver.resolve(document, pointer, ref)
                if target is None or target.document is self.new or target.key in seen:
                    continue
                seen.add(target.key)
                typed = Schema(target.document, ("types", target.name), target.schema, target.name)
                found.setdefault(target.name, typed)
                pending.append((target.document, typed.pointer, target.schema))
        return found


def _lookup(data: object, pointer: Pointer) -> object:
    for part in pointer:
        data = _mapping(data).get(str(part))
    return data


def _seconds(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}s"
    return "none"
