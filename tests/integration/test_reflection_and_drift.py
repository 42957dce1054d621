"""Issue 12, sections 1 and 3, against the real broker: a worker describes itself
(``leveret.describe``), and a caller generated from another contract of a method than the worker
is noticed on both sides (``rpc-fingerprint``): logged once per pair of fingerprints, counted by
the metrics middleware, readable by handlers and middleware, refused with ``on_drift="reject"``.
Review r12: a refused call is counted and its warning says so; ``authorize`` decides before the
drift check; a flood of fingerprints neither grows memory nor silences a later drift; "once" is
once per process, however many clients and workers it makes.

The specs here are written by hand, with fingerprints of their own, as two versions of one
definition would be generated: version 2 of ``reserve`` adds a property to the response."""

from __future__ import annotations

import abc
import json
import logging
import time
import uuid
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

import leveret
from leveret import CallContext, MethodSpec, ServiceSpec
from leveret._drift import MAX_REMEMBERED, SERVER_DRIFTS
from leveret.prometheus import Metrics
from tests.support.drift import Seen, drift_warnings, forget_drifts
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

V1, V2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.fixture(autouse=True)
def _fresh_drift_logs() -> None:
    """Each test starts as a fresh process would: no pair warned yet (the logs are per
    process, so a pair an earlier test warned would not be warned again)."""
    forget_drifts()


class ReserveRequest(BaseModel):
    sku: str
    quantity: int


class ReservationV1(BaseModel):
    id: str


class ReservationV2(BaseModel):
    id: str
    expires: str | None = None


DEFINITION_V2 = {
    "leveret": 1,
    "package": "shop",
    "service": "Inventory",
    "queue": "shop.Inventory",
    "x-team": "stock",
    "methods": {
        "reserve": {
            "request": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
            },
            "response": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "expires": {"type": "string"}},
            },
        }
    },
}

RESERVE_V1: MethodSpec[ReserveRequest, ReservationV1] = MethodSpec(
    name="reserve",
    python_name="reserve",
    request=ReserveRequest,
    response=ReservationV1,
    timeout=5.0,
    fingerprint=V1,
)
RESERVE_V2: MethodSpec[ReserveRequest, ReservationV2] = MethodSpec(
    name="reserve",
    python_name="reserve",
    request=ReserveRequest,
    response=ReservationV2,
    timeout=5.0,
    fingerprint=V2,
)
SERVICE_V1 = ServiceSpec(
    name="Inventory",
    queue="shop.Inventory",
    methods=(RESERVE_V1,),
    package="shop",
    fingerprint="sha256:" + "a" * 64,
)
SERVICE_V2 = ServiceSpec(
    name="Inventory",
    queue="shop.Inventory",
    methods=(RESERVE_V2,),
    package="shop",
    definition=json.dumps(DEFINITION_V2),
    fingerprint="sha256:" + "b" * 64,
)


class ClientV1(leveret.Client):
    service: ClassVar[ServiceSpec] = SERVICE_V1

    def reserve(self, *, sku: str, quantity: int) -> ReservationV1:
        return self._call(RESERVE_V1, {"sku": sku, "quantity": quantity}, leveret.DEFAULT)


class ClientV2(ClientV1):
    service: ClassVar[ServiceSpec] = SERVICE_V2

    def reserve(self, *, sku: str, quantity: int) -> ReservationV2:  # type: ignore[override]
        return self._call(RESERVE_V2, {"sku": sku, "quantity": quantity}, leveret.DEFAULT)


class InventoryServicer(leveret.Servicer):
    service: ClassVar[ServiceSpec] = SERVICE_V2

    @abc.abstractmethod
    def reserve(self, request: ReserveRequest, context: CallContext) -> ReservationV2: ...


class Inventory(InventoryServicer):
    def __init__(self) -> None:
        self.drifts: list[leveret.ContractDrift | None] = []

    def reserve(self, request: ReserveRequest, context: CallContext) -> ReservationV2:
        self.drifts.append(context.contract_drift)
        return ReservationV2(id=f"r-{request.sku}", expires="2026-12-31")


# -- 1. reflection ----------------------------------------------------------------------------


def test_a_worker_describes_itself(amqp_url: str, queue: str) -> None:
    with (
        leveret.Worker(Inventory(), url=amqp_url, queue=queue),
        leveret.DynamicClient.connect(amqp_url) as client,
    ):
        described = client.describe(queue)
        # the ordinary methods still work beside it
        assert client.call(queue, "reserve", {"sku": "A", "quantity": 1}) == {
            "id": "r-A",
            "expires": "2026-12-31",
        }
    assert described["definition"] == DEFINITION_V2  # x- keys kept
    assert described["fingerprint"] == SERVICE_V2.fingerprint
    assert described["methods"] == {"reserve": V2}
    assert described["leveret"] is None or isinstance(described["leveret"], str)


def test_the_reply_to_describe_goes_through_the_normal_path(amqp_url: str, queue: str) -> None:
    """A raw peer: OK status and the service's fingerprint on the reply; a request whose
    deadline has passed is skipped, as any call."""
    peer = RawPeer(amqp_url)
    try:
        with leveret.Worker(Inventory(), url=amqp_url, queue=queue):
            late = peer.publish(
                queue, b"{}", method="leveret.describe", headers={"rpc-deadline": 1000}
            )
            cid = peer.publish(queue, b"{}", method="leveret.describe")
            reply = peer.wait(cid, 10)
            assert reply is not None
            assert reply.status == "OK"
            assert reply.headers.get("rpc-fingerprint") == SERVICE_V2.fingerprint
            assert reply.json()["definition"]["service"] == "Inventory"
            assert peer.wait(late, 0.5) is None  # skipped: the caller had given up
    finally:
        peer.close()


def test_reflection_can_be_turned_off(amqp_url: str, queue: str) -> None:
    with (
        leveret.Worker(Inventory(), url=amqp_url, queue=queue, reflection=False),
        leveret.DynamicClient.connect(amqp_url) as client,
        pytest.raises(leveret.Unimplemented, match="does not describe itself") as raised,
    ):
        client.describe(queue)
    assert "leveret.describe" in raised.value.message


def test_describing_a_queue_nobody_serves_fails_at_once(amqp_url: str) -> None:
    with leveret.DynamicClient.connect(amqp_url) as client:
        began = time.monotonic()
        with pytest.raises(leveret.Unavailable, match="no queue"):
            client.describe(f"leveret.test.nobody.{uuid.uuid4().hex[:8]}")
        assert time.monotonic() - began < 1.0


def test_a_worker_without_a_definition_does_not_describe_itself(amqp_url: str, queue: str) -> None:
    class Bare(Inventory):
        service: ClassVar[ServiceSpec] = replace(SERVICE_V2, definition=None)

    with (
        leveret.Worker(Bare(), url=amqp_url, queue=queue),
        leveret.DynamicClient.connect(amqp_url) as client,
        pytest.raises(leveret.Unimplemented, match="does not describe itself"),
    ):
        client.describe(queue)


class Guarded(Inventory):
    """Lets only ``readers`` describe the service; records what its hook was asked."""

    def __init__(self, readers: frozenset[str]) -> None:
        super().__init__()
        self.readers = readers
        self.asked: list[tuple[str, bool, str | None, dict[str, str]]] = []

    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        self.asked.append((method.name, method.idempotent, context.caller, dict(context.metadata)))
        if method.name == "leveret.describe" and context.caller not in self.readers:
            raise leveret.PermissionDenied(f"{context.caller} may not read the definition")


@pytest.mark.parametrize(
    "readers", [frozenset({"guest"}), frozenset({"ops"})], ids=["allowed", "refused"]
)
def test_describe_goes_through_the_authorize_hook(
    amqp_url: str, queue: str, readers: frozenset[str]
) -> None:
    """The definition tells a caller what a refused call's validation errors would (and
    more), so the servicer's hook decides on it as on any method, before it is sent."""
    servicer = Guarded(readers)
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue),
        leveret.DynamicClient.connect(amqp_url) as client,
    ):
        if "guest" in readers:
            assert client.describe(queue)["definition"] == DEFINITION_V2
        else:
            with pytest.raises(leveret.PermissionDenied, match="guest may not read"):
                client.describe(queue)
        # the methods are the hook's business as before
        assert client.call(queue, "reserve", {"sku": "A", "quantity": 1})["id"] == "r-A"
    assert servicer.asked == [
        ("leveret.describe", True, "guest", {}),
        ("reserve", False, "guest", {}),
    ]


def test_describe_refused_by_a_failing_hook_is_internal(amqp_url: str, queue: str) -> None:
    """A hook written for the definition's methods only (a lookup by name) fails closed."""

    class ByName(Inventory):
        ROLES: ClassVar[dict[str, frozenset[str]]] = {"reserve": frozenset({"guest"})}

        def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
            if context.caller not in self.ROLES[method.name]:
                raise leveret.PermissionDenied("no")

    with (
        leveret.Worker(ByName(), url=amqp_url, queue=queue),
        leveret.DynamicClient.connect(amqp_url) as client,
    ):
        with pytest.raises(leveret.Internal):
            client.describe(queue)
        assert client.call(queue, "reserve", {"sku": "A", "quantity": 1})["id"] == "r-A"


# -- 3. drift -----------------------------------------------------------------------------------


def test_drift_is_warned_once_per_pair_on_both_sides_and_the_call_succeeds(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    servicer, server_seen = Inventory(), Seen()
    client_seen = Seen()
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[server_seen]),
        ClientV1.connect(amqp_url, queue=queue, middleware=[client_seen]) as old,
        ClientV2.connect(amqp_url, queue=queue) as current,
    ):
        for sku in ("A", "B", "C"):
            assert old.reserve(sku=sku, quantity=1).id == f"r-{sku}"  # the call goes on
        assert current.reserve(sku="D", quantity=1).expires == "2026-12-31"  # no drift
    drift = leveret.ContractDrift("Inventory", "reserve", V1, V2)
    assert servicer.drifts == [drift, drift, drift, None]
    assert server_seen.drifts == [drift, drift, drift, None]
    assert client_seen.drifts == [drift, drift, drift]
    server, client = (
        drift_warnings(caplog, "leveret.server"),
        drift_warnings(caplog, "leveret.client"),
    )
    assert len(server) == 1 and len(client) == 1, (server, client)
    for record in (server[0], client[0]):
        assert V1 in record and V2 in record and "Inventory.reserve" in record
    assert "caller guest" in server[0]
    assert queue in client[0]


def test_a_new_pair_is_warned_again(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = replace(RESERVE_V1, fingerprint="sha256:" + "3" * 64)

    class ClientV0(ClientV1):
        def reserve(self, *, sku: str, quantity: int) -> ReservationV1:
            return self._call(other, {"sku": sku, "quantity": quantity}, leveret.DEFAULT)

    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(Inventory(), url=amqp_url, queue=queue),
        ClientV1.connect(amqp_url, queue=queue) as v1,
        ClientV0.connect(amqp_url, queue=queue) as v0,
    ):
        for client in (v1, v0, v1, v0):
            client.reserve(sku="A", quantity=1)
    server = drift_warnings(caplog, "leveret.server")
    assert len(server) == 2, server
    assert {V1 in server[0], V1 in server[1]} == {True, False}


def test_on_drift_reject_refuses_a_drifted_call_naming_both_fingerprints(
    amqp_url: str, queue: str
) -> None:
    servicer = Inventory()
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue, on_drift="reject"),
        ClientV1.connect(amqp_url, queue=queue) as old,
        ClientV2.connect(amqp_url, queue=queue) as current,
    ):
        with pytest.raises(leveret.FailedPrecondition) as refused:
            old.reserve(sku="A", quantity=1)
        assert current.reserve(sku="B", quantity=1).id == "r-B"
    assert V1 in refused.value.message and V2 in refused.value.message
    assert "on_drift='reject'" in refused.value.message
    assert servicer.drifts == [None]  # the handler never saw the drifted call


def test_on_drift_must_be_warn_or_reject() -> None:
    with pytest.raises(leveret.ConfigurationError, match="on_drift"):
        leveret.Worker(Inventory(), url="amqp://guest:guest@127.0.0.1:5672/%2F", on_drift="no")


def test_metrics_count_drifted_calls_on_each_side(amqp_url: str, queue: str) -> None:
    registry = CollectorRegistry()
    with (
        leveret.Worker(Inventory(), url=amqp_url, queue=queue, middleware=[Metrics(registry)]),
        ClientV1.connect(amqp_url, queue=queue, middleware=[Metrics(registry)]) as old,
        ClientV2.connect(amqp_url, queue=queue, middleware=[Metrics(registry)]) as current,
    ):
        for _ in range(3):
            old.reserve(sku="A", quantity=1)
        current.reserve(sku="A", quantity=1)
    assert (_drifted(registry, "server"), _drifted(registry, "client")) == (3.0, 3.0)


def _drifted(registry: CollectorRegistry, side: str) -> float | None:
    labels = {"service": "Inventory", "method": "reserve", "side": side}
    return registry.get_sample_value("leveret_contract_drift_total", labels)


def test_a_fingerprint_header_that_is_not_a_short_string_is_ignored(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    servicer = Inventory()
    peer = RawPeer(amqp_url)
    try:
        with caplog.at_level(logging.WARNING), leveret.Worker(servicer, url=amqp_url, queue=queue):
            body = b'{"sku": "A", "quantity": 1}'
            for hostile in ("x" * 5000, 7, "caf\u00e9", ""):
                cid = peer.publish(
                    queue, body, method="reserve", headers={"rpc-fingerprint": hostile}
                )
                reply = peer.wait(cid, 10)
                assert reply is not None and reply.status == "OK"
                assert reply.headers.get("rpc-fingerprint") == V2
    finally:
        peer.close()
    assert servicer.drifts == [None] * 4
    assert drift_warnings(caplog, "leveret.server") == []


# -- review r12 -------------------------------------------------------------------------------


def test_a_refused_drifted_call_is_counted_on_both_sides(amqp_url: str, queue: str) -> None:
    """Refused before the worker's chain runs, it is counted all the same (the middleware's
    ``drift_refused``), as the client counts it."""
    registry = CollectorRegistry()
    with (
        leveret.Worker(
            Inventory(),
            url=amqp_url,
            queue=queue,
            on_drift="reject",
            middleware=[Metrics(registry)],
        ),
        ClientV1.connect(amqp_url, queue=queue, middleware=[Metrics(registry)]) as old,
    ):
        for _ in range(3):
            with pytest.raises(leveret.FailedPrecondition):
                old.reserve(sku="A", quantity=1)
    assert (_drifted(registry, "server"), _drifted(registry, "client")) == (3.0, 3.0)
    labels = {"service": "Inventory", "method": "reserve"}
    # the refusals ran no handler: they are not calls the worker started (no series yet)
    assert registry.get_sample_value("leveret_server_started_total", labels) is None


class _BrokenHook(leveret.Middleware):
    def intercept(self, call: leveret.CallInfo, call_next: Any) -> BaseModel:
        result: BaseModel = call_next(call)
        return result

    def drift_refused(self, drift: leveret.ContractDrift) -> None:
        raise RuntimeError("a bug in the hook")


def test_a_failing_drift_refused_hook_changes_nothing_on_the_wire(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(
            Inventory(),
            url=amqp_url,
            queue=queue,
            on_drift="reject",
            middleware=[_BrokenHook(), Metrics(registry)],
        ),
        ClientV1.connect(amqp_url, queue=queue) as old,
        pytest.raises(leveret.FailedPrecondition, match="on_drift='reject'"),
    ):
        old.reserve(sku="A", quantity=1)
    assert _drifted(registry, "server") == 1.0  # the next middleware is told all the same
    errors = [r for r in caplog.records if r.name == "leveret.server" and r.levelno >= 40]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


@pytest.mark.parametrize("on_drift", ["warn", "reject"])
def test_the_drift_warning_says_whether_the_call_goes_on(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture, on_drift: str
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(Inventory(), url=amqp_url, queue=queue, on_drift=on_drift),
        ClientV1.connect(amqp_url, queue=queue) as old,
    ):
        if on_drift == "warn":
            assert old.reserve(sku="A", quantity=1).id == "r-A"
        else:
            with pytest.raises(leveret.FailedPrecondition):
                old.reserve(sku="A", quantity=1)
    server = drift_warnings(caplog, "leveret.server")
    client = drift_warnings(caplog, "leveret.client")
    assert len(server) == 1 and len(client) == 1, (server, client)
    if on_drift == "warn":
        assert server[0].endswith("; the call goes on, validated as usual")
        assert client[0].endswith("; the call goes on, validated as usual")
    else:
        assert server[0].endswith("; the call is refused (on_drift='reject')")
        assert client[0].endswith("; the worker refused the call (FAILED_PRECONDITION)")
        assert "goes on" not in server[0] + client[0]


class Closed(Inventory):
    """An ``authorize`` hook that refuses everyone; records the drift it was shown."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[leveret.ContractDrift | None] = []

    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        self.shown.append(context.contract_drift)
        raise leveret.PermissionDenied("nobody may reserve")


@pytest.mark.parametrize("on_drift", ["warn", "reject"])
def test_authorize_decides_before_the_drift_check(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture, on_drift: str
) -> None:
    """A caller the hook refuses is told PERMISSION_DENIED whatever contract it speaks, and
    its drift is neither warned nor remembered (wire protocol §3: 4b before 4d)."""
    servicer = Closed()
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(servicer, url=amqp_url, queue=queue, on_drift=on_drift),
        ClientV1.connect(amqp_url, queue=queue) as old,
        pytest.raises(leveret.PermissionDenied, match="nobody may reserve"),
    ):
        old.reserve(sku="A", quantity=1)
    assert drift_warnings(caplog, "leveret.server") == []
    assert len(SERVER_DRIFTS) == 0
    # the hook may read the drift to decide on it
    assert servicer.shown == [leveret.ContractDrift("Inventory", "reserve", V1, V2)]


def test_invalid_metadata_is_refused_before_the_drift_check(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    peer = RawPeer(amqp_url)
    try:
        with (
            caplog.at_level(logging.WARNING),
            leveret.Worker(Inventory(), url=amqp_url, queue=queue, on_drift="reject"),
        ):
            headers = {"rpc-fingerprint": V1, "leveret-md-Tenant": "acme"}
            body = b'{"sku": "A", "quantity": 1}'
            cid = peer.publish(queue, body, method="reserve", headers=headers)
            reply = peer.wait(cid, 10)
    finally:
        peer.close()
    assert reply is not None and reply.status == "INVALID_ARGUMENT", reply
    assert drift_warnings(caplog, "leveret.server") == []
    assert len(SERVER_DRIFTS) == 0


def test_a_flood_of_fingerprints_neither_grows_memory_nor_silences_a_later_drift(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """More distinct pairs than the log remembers: it forgets the least recently seen ones,
    stays at its cap, and a genuine drift that comes after is warned (once)."""
    peer = RawPeer(amqp_url)
    body = b'{"sku": "A", "quantity": 1}'
    try:
        with (
            caplog.at_level(logging.WARNING),
            leveret.Worker(Inventory(), url=amqp_url, queue=queue),
        ):
            cids = [
                peer.publish(
                    queue, body, method="reserve", headers={"rpc-fingerprint": f"sha256:{i:064x}"}
                )
                for i in range(MAX_REMEMBERED + 100)
            ]
            for cid in cids:
                reply = peer.wait(cid, 30)
                assert reply is not None and reply.status == "OK"
            assert len(SERVER_DRIFTS) == MAX_REMEMBERED
            caplog.clear()
            with ClientV1.connect(amqp_url, queue=queue) as old:
                for _ in range(3):
                    assert old.reserve(sku="A", quantity=1).id == "r-A"
    finally:
        peer.close()
    server = drift_warnings(caplog, "leveret.server")
    assert len(server) == 1 and V1 in server[0] and V2 in server[0], server
    assert len(SERVER_DRIFTS) == MAX_REMEMBERED


def test_short_lived_clients_and_workers_of_one_process_warn_once(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client per call, a worker after another: once per pair and side in the process."""
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            with leveret.Worker(Inventory(), url=amqp_url, queue=queue):
                for _ in range(5):
                    with ClientV1.connect(amqp_url, queue=queue) as old:
                        assert old.reserve(sku="A", quantity=1).id == "r-A"
    server = drift_warnings(caplog, "leveret.server")
    client = drift_warnings(caplog, "leveret.client")
    assert (len(server), len(client)) == (1, 1), (server, client)
