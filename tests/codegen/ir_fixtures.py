"""Hand-built IR for back-end tests that must not depend on the front end."""

from __future__ import annotations

import json

from leveret_codegen._ir import ErrorDef, MethodDef, ServiceDef

INVENTORY_DEFS: dict[str, object] = {
    "Sku": {
        "type": "string",
        "pattern": "^[A-Z]{3}-[0-9]{4}$",
        "description": "Stock keeping unit.",
    },
    "ReserveRequest": {
        "type": "object",
        "required": ["sku", "quantity"],
        "properties": {
            "sku": {"$ref": "#/$defs/Sku"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
            "note": {
                "type": "string",
                "maxLength": 200,
                "description": "Free text for the warehouse.",
            },
        },
    },
    "Reservation": {
        "type": "object",
        "description": "A hold on stock.",
        "required": ["id", "sku", "quantity", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "sku": {"$ref": "#/$defs/Sku"},
            "quantity": {"type": "integer"},
            "status": {"type": "string", "enum": ["held", "confirmed"]},
            "price": {"$ref": "#/$defs/Money"},
        },
    },
    "Money": {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
        },
    },
    "ReleaseRequest": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "class": {"type": "string", "description": "A keyword as a property name."},
            "reason": {"type": ["string", "null"], "default": None},
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "mode": {"type": "string", "enum": ["soft", "hard"], "default": "soft"},
        },
    },
    "ReleaseResponse": {"type": "object", "properties": {}},
    "OutOfStockDetails": {
        "type": "object",
        "required": ["available"],
        "properties": {"available": {"type": "integer"}},
    },
}


def service(
    *,
    defs: dict[str, object] | None = None,
    methods: tuple[MethodDef, ...] | None = None,
    errors: tuple[ErrorDef, ...] | None = None,
    source: str = "schemas/inventory.yaml",
    package: str = "shop",
) -> ServiceDef:
    """The issue's Inventory service (plus a ``release`` method with tricky fields)."""
    if methods is None:
        methods = (
            MethodDef(
                name="reserve",
                python_name="reserve",
                const_name="RESERVE",
                description="Reserve stock for an order.",
                request_type="ReserveRequest",
                response_type="Reservation",
                errors=("OutOfStock",),
                timeout=5.0,
                idempotent=False,
            ),
            MethodDef(
                name="release",
                python_name="release",
                const_name="RELEASE",
                description="Release a reservation.",
                request_type="ReleaseRequest",
                response_type="ReleaseResponse",
                errors=("UnknownReservation",),
                timeout=None,
                idempotent=True,
            ),
        )
    if errors is None:
        errors = (
            ErrorDef(
                name="OutOfStock",
                status="FAILED_PRECONDITION",
                status_class="FailedPrecondition",
                description="Not enough stock.",
                details_type="OutOfStockDetails",
            ),
            ErrorDef(
                name="UnknownReservation",
                status="NOT_FOUND",
                status_class="NotFound",
                description="No reservation has that id.",
                details_type=None,
            ),
        )
    return ServiceDef(
        source=source,
        package=package,
        service="Inventory",
        version="1.4.0",
        description="Stock levels and reservations.",
        queue="shop.Inventory",
        client_class="InventoryClient",
        async_client_class="AsyncInventoryClient",
        servicer_class="InventoryServicer",
        async_servicer_class="AsyncInventoryServicer",
        methods=methods,
        errors=errors,
        models_schema=json.dumps({"$defs": INVENTORY_DEFS if defs is None else defs}),
    )
