"""Raw pika instrumented by hand the way leveret's -obs rows are (copied into
peerbench/adapters/ by bench/run_peers.sh): what the same OpenTelemetry SDK and prometheus-client
cost a program with no framework at all, measured in the same run as the leveret rows.

Rows (group 1/3, beside the raw-pika baselines they extend):
  pika-tutorial-seq-obs     the tutorial client and server of raw_pika.py (exclusive reply
                            queue, one call in flight)
  pika-pipelined-64-obs     raw_pika.py's pipelined client (64 in flight, direct reply-to)
                            against the same server with prefetch 128

Both sides, per call, what leveret.otel.OpenTelemetry and leveret.prometheus.Metrics do:
a span (CLIENT on the client, SERVER on the server, child of the caller's through W3C
traceparent/baggage in the message headers, current while the handler runs) named
"peerbench_svc.Adder/add" with the same attributes (rpc.system.name, rpc.method,
messaging.system, messaging.destination.name, messaging.message.conversation_id, then
rpc.response.status_code), on an SDK TracerProvider with a BatchSpanProcessor to an exporter that
drops the spans; and started/handled{code} counters and a duration histogram (plus an in-flight
gauge on the server) on a private registry, with the labelled children looked up once.
"""

from __future__ import annotations

import json
import time
import uuid

from ..common import CONCURRENCY, System

SYSTEMS = [
    System(
        id="pika-tutorial-seq-obs",
        label="raw pika, tutorial-six, OpenTelemetry + Prometheus by hand",
        variant="tutorial",
        mode="seq",
        group="1",
        payload=False,
    ),
    System(
        id="pika-pipelined-64-obs",
        label=f"raw pika, pipelined ({CONCURRENCY}), OpenTelemetry + Prometheus by hand",
        variant="pipelined",
        mode="conc",
        concurrency=CONCURRENCY,
        group="3",
        payload=False,
        opts={"prefetch": 2 * CONCURRENCY},
    ),
]

DIRECT = "amq.rabbitmq.reply-to"
NAME = "peerbench_svc.Adder/add"


class _Obs:
    """One side's tracer and metric children."""

    def __init__(self, side: str, queue: str) -> None:
        from opentelemetry import context, propagate, trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
        from opentelemetry.trace import SpanKind
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        class Dropped(SpanExporter):
            def export(self, spans):
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Dropped()))
        self.tracer = provider.get_tracer("pika-by-hand")
        self.trace, self.propagate, self.context = trace, propagate, context
        self.kind = SpanKind.CLIENT if side == "client" else SpanKind.SERVER
        self.static = {
            "rpc.system.name": "pika",
            "rpc.method": NAME,
            "messaging.system": "rabbitmq",
            "messaging.destination.name": queue,
        }
        registry = CollectorRegistry()
        labels = ("service", "method")
        self.started = Counter(f"{side}_started_total", "", labels, registry=registry).labels(
            "Adder", "add"
        )
        self.handled = Counter(
            f"{side}_handled_total", "", (*labels, "code"), registry=registry
        ).labels("Adder", "add", "OK")
        self.seconds = Histogram(f"{side}_seconds", "", labels, registry=registry).labels(
            "Adder", "add"
        )
        self.in_flight = (
            Gauge(f"{side}_in_flight", "", labels, registry=registry).labels("Adder", "add")
            if side == "server"
            else None
        )

    def begin(self, cid: str, carrier: dict | None):
        """Start the span and the metrics of one call: (span, token, t0)."""
        self.started.inc()
        if self.in_flight is not None:
            self.in_flight.inc()
        attributes = {**self.static, "messaging.message.conversation_id": cid}
        if carrier is None:  # client: inject into a new carrier
            span = self.tracer.start_span(NAME, kind=self.kind, attributes=attributes)
            current = self.trace.set_span_in_context(span)
        else:
            parent = self.propagate.extract(carrier)
            span = self.tracer.start_span(
                NAME, context=parent, kind=self.kind, attributes=attributes
            )
            current = self.trace.set_span_in_context(span, parent)
        return span, current, time.perf_counter()

    def end(self, span, t0: float) -> None:
        span.set_attribute("rpc.response.status_code", "OK")
        span.end()
        self.seconds.observe(time.perf_counter() - t0)
        self.handled.inc()
        if self.in_flight is not None:
            self.in_flight.dec()


def serve(ctx) -> None:
    import pika

    obs = _Obs("server", ctx.queue)
    conn = pika.BlockingConnection(pika.URLParameters(ctx.url))
    ch = conn.channel()
    ch.queue_declare(queue=ctx.queue, auto_delete=True)
    ch.basic_qos(prefetch_count=int(ctx.opts.get("prefetch", 1)))
    loads, dumps, handle = json.loads, json.dumps, ctx.handle
    publish = ch.basic_publish
    Props = pika.BasicProperties
    attach, detach = obs.context.attach, obs.context.detach

    def on_request(chan, method, props, body):
        span, current, t0 = obs.begin(props.correlation_id, props.headers or {})
        token = attach(current)
        try:
            resp = handle(loads(body))
        finally:
            detach(token)
        obs.end(span, t0)
        publish(
            exchange="",
            routing_key=props.reply_to,
            properties=Props(correlation_id=props.correlation_id),
            body=dumps(resp).encode(),
        )
        chan.basic_ack(delivery_tag=method.delivery_tag)

    ch.basic_consume(queue=ctx.queue, on_message_callback=on_request)
    ctx.ready()
    ch.start_consuming()


def _seq(ctx, obs) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(ctx.url))
    ch = conn.channel()
    reply_to = ch.queue_declare(queue="", exclusive=True).method.queue
    state = {"cid": None, "body": None}

    def on_response(chan, method, props, body):
        if props.correlation_id == state["cid"]:
            state["body"] = body

    ch.basic_consume(queue=reply_to, on_message_callback=on_response, auto_ack=True)

    def call(req):
        cid = str(uuid.uuid4())
        span, current, t0 = obs.begin(cid, None)
        headers: dict = {}
        obs.propagate.inject(headers, context=current)
        state["cid"], state["body"] = cid, None
        ch.basic_publish(
            exchange="",
            routing_key=ctx.queue,
            properties=pika.BasicProperties(reply_to=reply_to, correlation_id=cid, headers=headers),
            body=json.dumps(req).encode(),
        )
        while state["body"] is None:
            conn.process_data_events(time_limit=None)
        obs.end(span, t0)
        return json.loads(state["body"])

    try:
        ctx.run_sync(call)
    finally:
        conn.close()


def _pipelined(ctx, obs) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(ctx.url))
    ch = conn.channel()
    Props = pika.BasicProperties
    publish = ch.basic_publish
    queue = ctx.queue
    dumps, loads = json.dumps, json.loads
    make, pad, check = ctx.make_request, ctx.pad, ctx.check
    clock = time.perf_counter_ns
    window = ctx.concurrency
    st = {"next": 0, "done": 0, "total": 0, "rec": None, "tag": ""}
    pending = {}
    inject = obs.propagate.inject

    def send(i):
        req = make(i, pad)
        cid = st["tag"] + str(i)
        span, current, t0 = obs.begin(cid, None)
        headers: dict = {}
        inject(headers, context=current)
        pending[cid] = (req, clock(), span, t0)
        publish(
            exchange="",
            routing_key=queue,
            properties=Props(reply_to=DIRECT, correlation_id=cid, headers=headers),
            body=dumps(req).encode(),
        )

    def on_response(chan, method, props, body):
        req, started, span, t0 = pending.pop(props.correlation_id)
        obs.end(span, t0)
        rec = st["rec"]
        if rec is not None:
            rec(clock() - started)
        check(req, loads(body))
        st["done"] += 1
        if st["next"] < st["total"]:
            i = st["next"]
            st["next"] = i + 1
            send(i)

    ch.basic_consume(queue=DIRECT, on_message_callback=on_response, auto_ack=True)

    def phase(total, tag, rec):
        st.update(next=0, done=0, total=total, rec=rec, tag=tag)
        for _ in range(min(window, total)):
            i = st["next"]
            st["next"] = i + 1
            send(i)
        while st["done"] < total:
            conn.process_data_events(time_limit=None)

    phase(ctx.warmup, "w", None)
    ctx.meter.start()
    phase(ctx.n, "m", ctx.meter.record)
    ctx.meter.stop()
    conn.close()


def client(ctx) -> None:
    obs = _Obs("client", ctx.queue)
    if ctx.variant == "pipelined":
        return _pipelined(ctx, obs)
    return _seq(ctx, obs)
