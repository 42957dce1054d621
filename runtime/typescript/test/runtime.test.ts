// The TypeScript runtime against a real RabbitMQ: a leveret worker (serveService) and client
// (Client) over the wire of docs/wire-protocol.md, and raw amqplib publishes for what a leveret
// client never sends.

import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import {
  Cancelled,
  ConfigurationError,
  DeadlineExceeded,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotFound,
  RpcError,
  serveService,
  Unavailable,
  Unimplemented,
  type CallContext,
  type Handler,
  type Worker,
} from '../src/index';
import {
  AMQP_URL,
  brokerUp,
  deferred,
  deleteQueue,
  numbersService,
  NumbersClient,
  OutOfStock,
  Proxy,
  RawCaller,
  TestLogger,
  uniqueQueue,
} from './helpers';

/** The test service's handlers; `released` lets a test free a held call. */
interface State {
  calls: number;
  running: number;
  maxRunning: number;
  held: Map<string, () => void>;
  holding: Map<string, () => void>;
}

function newState(): State {
  return { calls: 0, running: 0, maxRunning: 0, held: new Map(), holding: new Map() };
}

function handlers(state: State) {
  const table: Record<string, Handler<any, any>> = {
    add: async ({ a, b }: { a: number; b: number }) => {
      state.calls += 1;
      state.running += 1;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      try {
        // Replies leave out of order: calls are matched by correlation id, not by order.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
        return { value: a + b };
      } finally {
        state.running -= 1;
      }
    },
    reserve: ({ quantity }: { quantity: number }) => {
      state.calls += 1;
      // Details that break the error's schema: the handler's bug, INTERNAL (as in Python).
      if (quantity === 100) throw new OutOfStock('odd', { available: -1 });
      if (quantity > 3) throw new OutOfStock('only 3 left', { available: 3 });
      return { id: randomUUID() };
    },
    seen: async ({ failUntil }: { failUntil?: number }, context: CallContext) => {
      state.calls += 1;
      if (failUntil !== undefined && context.attempt < failUntil) throw new Unavailable('warming up');
      return {
        attempt: context.attempt,
        metadata: { ...context.metadata },
        deadline: context.deadline,
        caller: context.caller,
        traceparent: context.trace.traceparent ?? null,
        // After a tick: a deadline timer that fired at once (a far deadline overflowing setTimeout) shows here.
        aborted: await new Promise<boolean>((resolve) => setTimeout(() => resolve(context.signal.aborted), 5)),
      };
    },
    flaky: () => {
      state.calls += 1;
      throw new Unavailable('not now');
    },
    hold: ({ key }: { key: string }) =>
      new Promise((resolve) => {
        state.calls += 1;
        state.held.set(key, () => resolve({ released: true }));
        state.holding.get(key)?.();
      }),
    boom: ({ how }: { how: string }) => {
      state.calls += 1;
      if (how === 'throw') throw new Error('secret-in-the-stack');
      if (how === 'nan') return { value: NaN };
      return { value: 'not a number' };
    },
  };
  return table;
}

interface Setup {
  queue: string;
  worker: Worker;
  client: NumbersClient;
  raw: RawCaller;
  logger: TestLogger;
  state: State;
}

async function setUp(
  what: string,
  options: { concurrency?: number; prefetch?: number; reflection?: boolean; queue?: string } = {},
): Promise<Setup> {
  const queue = options.queue ?? uniqueQueue(what);
  const logger = new TestLogger();
  const state = newState();
  const worker = await serveService(numbersService(queue), handlers(state), { ...options, logger, grace: 2 });
  const client = await NumbersClient.connect(undefined, { queue, logger });
  const raw = await RawCaller.open();
  return { queue, worker, client, raw, logger, state };
}

async function tearDown(setup: Setup): Promise<void> {
  for (const release of setup.state.held.values()) release();
  await setup.client.close();
  await setup.raw.close();
  await setup.worker.close();
  await deleteQueue(setup.queue);
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RpcError, `not an RpcError: ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

describe('leveret TypeScript runtime, over RabbitMQ', () => {
  let s: Setup;
  let up = false;

  before(async () => {
    up = await brokerUp();
    if (up) s = await setUp('main');
  });
  after(async () => {
    if (up) await tearDown(s);
  });

  it('round trip', async (t) => {
    if (!up) return t.skip('no broker');
    assert.deepEqual(await s.client.add({ a: 20, b: 22 }), { value: 42 });
    assert.ok(s.logger.lines.some((line) => /^leveret\.server: handler add replied OK in [0-9.]+ ms \(cid=[0-9a-f]{32}\)$/.test(line)));
    const seen = await s.client.seen(
      {},
      { metadata: { tenant: 'acme', 'request-id': 'r-1' }, trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    );
    assert.deepEqual(seen.metadata, { tenant: 'acme', 'request-id': 'r-1' });
    assert.equal(seen.attempt, 0);
    assert.equal(seen.caller, 'guest');
    assert.equal(seen.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.ok(seen.deadline !== null && seen.deadline > Date.now() && seen.deadline <= Date.now() + 5000);
    const none = await s.client.seen({}, { timeout: null });
    assert.equal(none.deadline, null);
    assert.equal(none.aborted, false);
    // A deadline weeks ahead (past setTimeout's 24.8 days) neither expires the call nor the handler's signal.
    const far = await s.client.seen({}, { timeout: 40 * 86400 });
    assert.equal(far.aborted, false);
    assert.ok(far.deadline! > Date.now() + 39 * 86400_000);
  });

  it('a request on the wire: properties and headers as the protocol says', async (t) => {
    if (!up) return t.skip('no broker');
    // A raw consumer on a queue of its own sees exactly what the client publishes.
    const queue = uniqueQueue('wire');
    const amqp = await import('amqplib');
    const conn = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/%2F');
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: true });
    const got = deferred<import('amqplib').ConsumeMessage>();
    await ch.consume(queue, (msg) => msg && got.resolve(msg), { noAck: true });
    const client = await NumbersClient.connect(undefined, { queue });
    const before = Date.now();
    const call = client.add({ a: 1, b: 2 }, { timeout: 1.5, metadata: { tenant: 'acme' } });
    const msg = await got.promise;
    const p = msg.properties;
    assert.equal(p.contentType, 'application/json');
    assert.match(String(p.correlationId), /^[0-9a-f]{32}$/);
    assert.equal(p.replyTo, 'amq.rabbitmq.reply-to'.length ? p.replyTo : '');
    assert.match(String(p.replyTo), /^amq\.rabbitmq\.reply-to/);
    assert.equal(p.type, 'add');
    assert.equal(p.userId, 'guest');
    const expiration = Number(p.expiration);
    assert.ok(expiration > 1000 && expiration <= 1500, `expiration ${p.expiration}`);
    assert.equal(p.headers?.['rpc-attempt'], 1);
    const deadline = p.headers?.['rpc-deadline'] as number;
    assert.ok(Number.isInteger(deadline) && deadline >= before + 1500 && deadline <= Date.now() + 1500);
    assert.equal(p.headers?.['rpc-fingerprint'], 'sha256:add-v1');
    assert.equal(p.headers?.['leveret-md-tenant'], 'acme');
    assert.equal(p.deliveryMode, undefined);
    assert.equal(msg.content.toString(), '{"a":1,"b":2}');
    assert.ok((await rejection(call)) instanceof DeadlineExceeded);
    await client.close();
    await conn.close();
  });

  it('declared error with typed details', async (t) => {
    if (!up) return t.skip('no broker');
    const error = await rejection(s.client.reserve({ sku: 'ABC-1234', quantity: 9 }));
    assert.ok(error instanceof OutOfStock);
    assert.ok(error instanceof FailedPrecondition);
    assert.equal(error.status, 'FAILED_PRECONDITION');
    assert.equal(error.message, 'only 3 left');
    assert.deepEqual(error.details, { available: 3 });
    assert.equal(error.details.available, 3);
    assert.equal(error.origin, 'server');
    // On the wire: status, the error's name, its details.
    const reply = await s.raw.call(s.queue, 'reserve', '{"sku":"ABC-1234","quantity":9}');
    assert.equal(reply.status, 'FAILED_PRECONDITION');
    assert.deepEqual(reply.json, { code: 'FAILED_PRECONDITION', message: 'only 3 left', error: 'OutOfStock', details: { available: 3 } });
    assert.match((await s.client.reserve({ sku: 'ABC-1234', quantity: 1 })).id, /^[0-9a-f-]{36}$/);
    const odd = await rejection(s.client.reserve({ sku: 'ABC-1234', quantity: 100 }));
    assert.ok(odd instanceof Internal);
    assert.ok(s.logger.lines.some((line) => line.includes('the details of OutOfStock break its schema: available:')));
  });

  it('an aborted call fails with Cancelled', async (t) => {
    if (!up) return t.skip('no broker');
    const holding = deferred();
    s.state.holding.set('abort', holding.resolve);
    const controller = new AbortController();
    const call = rejection(s.client.hold({ key: 'abort' }, { signal: controller.signal }));
    await holding.promise;
    controller.abort();
    const error = await call;
    assert.ok(error instanceof Cancelled);
    assert.equal(error.status, 'CANCELLED');
    s.state.held.get('abort')!();
  });

  it('a request is validated as it goes on the wire: a Date as its text, undefined left out', async (t) => {
    if (!up) return t.skip('no broker');
    // Not plain JSON data: validated as read back from its text (a Date object is no string).
    const when = new Date('2026-12-05T15:00:00.000Z') as unknown as string;
    const sent = await s.client.reserve({ sku: 'ABC-1234', quantity: 1, when, extra: undefined } as never);
    assert.match(sent.id, /^[0-9a-f-]{36}$/);
    // `required` met by a property JSON leaves out: refused, as the worker would.
    const error = await rejection(s.client.reserve({ sku: undefined, quantity: 1 } as unknown as { sku: string; quantity: number }));
    assert.deepEqual(error.details, [{ loc: ['sku'], msg: 'Field required', type: 'missing' }]);
    // A non-enumerable property is no JSON property either.
    const hidden = Object.defineProperty({ quantity: 1 }, 'sku', { value: 'ABC-1234', enumerable: false });
    const missing = await rejection(s.client.reserve(hidden as { sku: string; quantity: number }));
    assert.deepEqual(missing.details, [{ loc: ['sku'], msg: 'Field required', type: 'missing' }]);
  });

  it('an invalid request is stopped by the client, and nothing is sent', async (t) => {
    if (!up) return t.skip('no broker');
    const before = s.state.calls;
    let error = await rejection(s.client.add({ a: '2' as unknown as number, b: 1 }));
    assert.ok(error instanceof InvalidArgument);
    assert.equal(error.origin, 'local');
    assert.equal(error.message, 'add: request failed validation: a: Input should be a valid number');
    assert.deepEqual(error.details, [{ loc: ['a'], msg: 'Input should be a valid number', type: 'float_type' }]);
    error = await rejection(s.client.add({ a: NaN, b: 1 }));
    assert.ok(error instanceof InvalidArgument);
    assert.deepEqual(error.details, [
      { loc: ['a'], msg: 'NaN and infinities cannot be sent: JSON has no such numbers', type: 'finite_number' },
    ]);
    error = await rejection(s.client.reserve({ sku: 'abc', quantity: 0, when: 'yesterday' }));
    assert.ok(error instanceof InvalidArgument);
    assert.deepEqual(
      (error.details as Array<{ loc: string[]; type: string }>).map((d) => [d.loc.join('.'), d.type]).sort(),
      [
        ['quantity', 'greater_than_equal'],
        ['sku', 'string_pattern_mismatch'],
        ['when', 'datetime_from_date_parsing'],
      ],
    );
    error = await rejection(s.client.add({ a: 1, b: 2, c: 3 } as unknown as { a: number; b: number }));
    assert.deepEqual(error.details, [{ loc: ['c'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }]);
    error = await rejection(s.client.seen({}, { metadata: { Tenant: 'x' } }));
    assert.ok(error instanceof InvalidArgument);
    assert.match(error.message, /^metadata key 'Tenant': 1 to 64 characters/);
    // Nothing reached the worker: a no-route would have answered Unavailable, a worker would have counted.
    const nowhere = await NumbersClient.connect(undefined, { queue: uniqueQueue('nowhere') });
    error = await rejection(nowhere.add({ a: '2' as unknown as number, b: 1 }));
    assert.ok(error instanceof InvalidArgument);
    await nowhere.close();
    assert.equal(s.state.calls, before);
  });

  it('an invalid request is refused by the worker (raw publish)', async (t) => {
    if (!up) return t.skip('no broker');
    const before = s.state.calls;
    const reply = await s.raw.call(s.queue, 'add', '{"a": "2", "b": 1}');
    assert.equal(reply.status, 'INVALID_ARGUMENT');
    assert.deepEqual(reply.json, {
      code: 'INVALID_ARGUMENT',
      message: 'add: request failed validation: a: Input should be a valid number',
      error: null,
      details: [{ loc: ['a'], msg: 'Input should be a valid number', type: 'float_type' }],
    });
    const missing = await s.raw.call(s.queue, 'add', '{"a": 1}');
    assert.equal(
      (missing.json as { message: string }).message,
      'add: request failed validation: b: Field required',
    );
    const array = await s.raw.call(s.queue, 'add', '[1]');
    assert.equal((array.json as { message: string }).message, 'add: request failed validation: (body): Input should be an object');
    assert.equal(s.state.calls, before);
  });

  it('UNIMPLEMENTED for a method the worker does not have', async (t) => {
    if (!up) return t.skip('no broker');
    const error = await rejection(s.client.missing());
    assert.ok(error instanceof Unimplemented);
    assert.equal(error.message, "Numbers has no method 'missing'");
    const reply = await s.raw.call(s.queue, 'nope', '{}');
    assert.equal(reply.status, 'UNIMPLEMENTED');
    assert.deepEqual(reply.json, { code: 'UNIMPLEMENTED', message: "Numbers has no method 'nope'", error: null, details: null });
    const untyped = await s.raw.call(s.queue, undefined, '{}');
    assert.equal((untyped.json as { message: string }).message, "the request names no method (the AMQP 'type' property is empty)");
  });

  it('DeadlineExceeded, and the late reply is dropped', async (t) => {
    if (!up) return t.skip('no broker');
    const holding = deferred();
    s.state.holding.set('late', holding.resolve);
    const started = Date.now();
    const call = s.client.hold({ key: 'late' }, { timeout: 0.3 });
    await holding.promise;
    const error = await rejection(call);
    assert.ok(error instanceof DeadlineExceeded);
    assert.equal(error.status, 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - started >= 290);
    // The worker replies after the deadline; the client drops that reply.
    const dropped = s.logger.waitFor(/dropped a reply matching no waiting call/);
    s.state.held.get('late')!();
    await dropped;
    assert.deepEqual(await s.client.add({ a: 1, b: 1 }), { value: 2 });
  });

  it('Unavailable in under 1 s when no queue takes the request', async (t) => {
    if (!up) return t.skip('no broker');
    const queue = uniqueQueue('absent');
    const client = await NumbersClient.connect(undefined, { queue });
    const name = queue.replace(/\./g, '\\.');
    try {
      // Found by the check before sending (a passive declare: 404).
      let started = Date.now();
      let error = await rejection(client.add({ a: 1, b: 2 }, { timeout: 10 }));
      assert.ok(error instanceof Unavailable);
      assert.equal(error.origin, 'no-route');
      assert.match(error.message, new RegExp(`^no queue '${name}' to take 'add': is the service running\\? \\(broker: NOT_FOUND\\)$`));
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      // Without the check, the broker returns the mandatory request (basic.return).
      started = Date.now();
      error = await rejection(client.add({ a: 1, b: 2 }, { timeout: 10, waitForReady: true }));
      assert.ok(error instanceof Unavailable);
      assert.equal(error.origin, 'no-route');
      assert.match(error.message, new RegExp(`^no queue '${name}' to take 'add': is the service running\\? \\(broker: NO_ROUTE\\)$`));
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    } finally {
      await client.close();
    }
  });

  it('a queue with no worker: Unavailable at once, unless the call waits for one', async (t) => {
    if (!up) return t.skip('no broker');
    const queue = uniqueQueue('unserved');
    const worker = await serveService(numbersService(queue), handlers(newState()), { logger: new TestLogger() });
    await worker.close(); // the durable queue stays, with no consumer
    const client = await NumbersClient.connect(undefined, { queue });
    try {
      const started = Date.now();
      const error = await rejection(client.reserve({ sku: 'ABC-1234', quantity: 1 }, { timeout: 10 }));
      assert.ok(error instanceof Unavailable);
      assert.equal(error.origin, 'no-consumer');
      assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
      assert.match(error.message, /^no worker is consuming queue '.*' to take 'reserve': is the service running\?/);
      // waitForReady: the request waits in the queue for a worker, which answers it.
      const state = newState();
      const waiting = client.add({ a: 2, b: 2 }, { timeout: 10, waitForReady: true });
      const late = await serveService(numbersService(queue), handlers(state), { logger: new TestLogger() });
      assert.deepEqual(await waiting, { value: 4 });
      await late.close();
    } finally {
      await client.close();
      await deleteQueue(queue);
    }
  });

  it('64 concurrent calls on one connection, each matched to its caller', async (t) => {
    if (!up) return t.skip('no broker');
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    const shared = new AbortController(); // one signal for all: no listener leak warning
    const calls = Array.from({ length: 64 }, (_, i) => s.client.add({ a: i, b: i * 1000 }, { signal: shared.signal }));
    const results = await Promise.all(calls);
    results.forEach((result, i) => assert.deepEqual(result, { value: i * 1001 }));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(warnings.map((w) => w.name), []);
  });

  it('INTERNAL for a handler that throws, without its stack on the wire', async (t) => {
    if (!up) return t.skip('no broker');
    const reply = await s.raw.call(s.queue, 'boom', '{"how":"throw"}', { correlationId: 'cid-boom-1' });
    assert.equal(reply.status, 'INTERNAL');
    assert.deepEqual(reply.json, {
      code: 'INTERNAL',
      message: 'internal error in boom (correlation id cid-boom-1)',
      error: null,
      details: null,
    });
    assert.ok(!reply.body.toString().includes('secret'));
    assert.ok(s.logger.lines.some((line) => line.includes('cid-boom-1') && line.includes('secret-in-the-stack')));
    for (const how of ['nan', 'wrong']) {
      const error = await rejection(s.client.boom({ how }));
      assert.ok(error instanceof Internal);
      assert.match(error.message, /^internal error in boom \(correlation id [0-9a-f]{32}\)$/);
    }
  });

  it('idempotent calls are retried on UNAVAILABLE within their deadline; others are not', async (t) => {
    if (!up) return t.skip('no broker');
    const seen = await s.client.seen({ failUntil: 2 });
    assert.equal(seen.attempt, 2);
    const before = s.state.calls;
    const error = await rejection(s.client.flaky());
    assert.ok(error instanceof Unavailable);
    assert.equal(error.origin, 'server');
    assert.equal(error.message, 'not now');
    assert.equal(s.state.calls, before + 1);
  });

  it('a request whose deadline has passed is skipped', async (t) => {
    if (!up) return t.skip('no broker');
    const single = await setUp('expired', { concurrency: 1 });
    try {
      // Deliveries are handled in order, one at a time: when the second is answered, the first
      // (expired) has been taken and skipped without a reply or a handler call.
      const answered = new Set<string>();
      const expired = single.raw.call(single.queue, 'seen', '{}', { headers: { 'rpc-deadline': Date.now() - 1000 } });
      void expired.then(() => answered.add('expired'));
      const fresh = await single.raw.call(single.queue, 'seen', '{}', { headers: { 'rpc-deadline': Date.now() + 5000 } });
      assert.equal(fresh.status, 'OK');
      assert.equal(single.state.calls, 1);
      assert.equal(answered.size, 0);
    } finally {
      await tearDown(single);
    }
  });

  it('malformed messages are refused and do not crash the worker', async (t) => {
    if (!up) return t.skip('no broker');
    const before = s.state.calls;
    const invalid = async (body: Buffer | string, options = {}, type = 'add') => {
      const reply = await s.raw.call(s.queue, type, body, options);
      assert.equal(reply.status, 'INVALID_ARGUMENT', `${String(body)}: ${reply.body.toString()}`);
      return reply.json as { message: string; details: Array<{ loc: string[]; msg: string; type: string }> };
    };
    let json = await invalid('{"a": 1, "b": ');
    assert.equal(json.details[0]!.type, 'json_invalid');
    assert.match(json.details[0]!.msg, /^Invalid JSON: /);
    json = await invalid(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1,"b":2}')]));
    assert.deepEqual(json.details, [{ loc: [], msg: 'Invalid JSON: expected value at line 1 column 1', type: 'json_invalid' }]);
    json = await invalid('{"a": NaN, "b": 1}');
    assert.equal(json.details[0]!.type, 'json_invalid');
    assert.match(json.details[0]!.msg, /^NaN, Infinity and -Infinity are not JSON numbers \(/);
    json = await invalid('{"a": 1e400, "b": 1}');
    assert.deepEqual(json.details, [{ loc: ['a'], msg: 'a number too large for a double (it would read as infinity)', type: 'finite_number' }]);
    json = await invalid(`{"a": 1, "b": 2, "x": ${'9'.repeat(4301)}}`);
    assert.match(json.details[0]!.msg, /^Invalid JSON: number out of range at line 1 column/);
    json = await invalid(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0x7d]));
    assert.equal(json.details[0]!.type, 'json_invalid');
    json = await invalid('{"sku": "\\ud800", "quantity": 1}', {}, 'reserve');
    assert.equal(json.details[0]!.type, 'json_invalid');
    json = await invalid('"just a string"');
    assert.equal(json.message, 'add: request failed validation: (body): Input should be an object');
    json = await invalid('{"a":1,"b":2}', { contentType: 'text/plain' });
    assert.equal(json.message, "unsupported content type 'text/plain'");
    json = await invalid('{"a":1,"b":2}', { headers: { 'leveret-md-Tenant': 'x' } });
    assert.match(json.message, /^metadata key 'Tenant'/);
    // Content type with parameters, and none at all: JSON.
    const ok = await s.raw.call(s.queue, 'add', '{"a":1,"b":2}', { contentType: 'Application/JSON; charset=utf-8' });
    assert.equal(ok.status, 'OK');
    const bare = await s.raw.call(s.queue, 'add', '{"a":1,"b":2}', { contentType: undefined });
    assert.equal(bare.status, 'OK');
    // No reply_to: nowhere to answer; rejected, and the worker serves on.
    s.raw.send(s.queue, 'add', '{"a":1,"b":2}', { replyTo: undefined, correlationId: 'no-reply-to' });
    await s.logger.waitFor(/rejected a request without reply_to/);
    assert.deepEqual(await s.client.add({ a: 2, b: 3 }), { value: 5 });
    assert.equal(s.state.calls, before + 3);
  });

  it('leveret.describe answers the definition; reflection: false turns it off', async (t) => {
    if (!up) return t.skip('no broker');
    const reply = await s.raw.call(s.queue, 'leveret.describe', '{}');
    assert.equal(reply.status, 'OK');
    assert.equal(reply.properties.headers?.['rpc-fingerprint'], 'sha256:numbers-v1');
    const body = reply.json as { definition: { service: string }; fingerprint: string; methods: Record<string, string | null> };
    assert.equal(body.definition.service, 'Numbers');
    assert.equal(body.fingerprint, 'sha256:numbers-v1');
    assert.equal(body.methods.add, 'sha256:add-v1');
    const quiet = await setUp('noreflection', { reflection: false });
    try {
      const refused = await quiet.raw.call(quiet.queue, 'leveret.describe', '{}');
      assert.equal(refused.status, 'UNIMPLEMENTED');
      assert.equal((refused.json as { message: string }).message, "Numbers has no method 'leveret.describe'");
    } finally {
      await tearDown(quiet);
    }
  });

  it('contract drift is reported once per pair of fingerprints, and the call goes on', async (t) => {
    if (!up) return t.skip('no broker');
    for (let i = 0; i < 2; i++) {
      const reply = await s.raw.call(s.queue, 'add', '{"a":1,"b":2}', { headers: { 'rpc-fingerprint': 'sha256:add-v0' } });
      assert.equal(reply.status, 'OK');
      assert.equal(reply.properties.headers?.['rpc-fingerprint'], 'sha256:add-v1');
    }
    const warnings = s.logger.lines.filter((line) => line.includes('contract drift on Numbers.add'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /sha256:add-v0, the worker's sha256:add-v1/);
  });

  it('a closed client fails its waiting calls with Cancelled', async (t) => {
    if (!up) return t.skip('no broker');
    const client = await NumbersClient.connect(undefined, { queue: s.queue });
    const holding = deferred();
    s.state.holding.set('closed', holding.resolve);
    const call = client.hold({ key: 'closed' }, { timeout: 5 });
    await holding.promise;
    const failed = rejection(call);
    await client.close();
    assert.ok((await failed) instanceof Cancelled);
    s.state.held.get('closed')!();
  });

  it('concurrency bounds the handlers running at once', async (t) => {
    if (!up) return t.skip('no broker');
    const bounded = await setUp('concurrency', { concurrency: 4, prefetch: 16 });
    try {
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => bounded.client.add({ a: i, b: 1 })));
      results.forEach((result, i) => assert.deepEqual(result, { value: i + 1 }));
      assert.ok(bounded.state.maxRunning <= 4, `${bounded.state.maxRunning} ran at once`);
      assert.ok(bounded.state.maxRunning >= 2, `${bounded.state.maxRunning} ran at once`);
    } finally {
      await tearDown(bounded);
    }
  });

  it('close() returns deliveries not started to the queue, for another worker', { timeout: 20_000 }, async (t) => {
    if (!up) return t.skip('no broker');
    // One handler at a time, eight deliveries prefetched: the worker holds one call, and the
    // calls after it wait in the worker (or, if not delivered yet, in the queue).
    const first = await setUp('handover', { concurrency: 1, prefetch: 8 });
    let other: Setup | null = null;
    try {
      const holding = deferred();
      first.state.holding.set('handover', holding.resolve);
      const held = first.client.hold({ key: 'handover' }, { timeout: 15 });
      await holding.promise;
      const waiting = [1, 2, 3].map((i) => first.client.add({ a: i, b: 0 }, { timeout: 15 }));
      other = await setUp('handover', { queue: first.queue });
      const closing = first.worker.close();
      // Answered by the other worker while the first still holds its call: handed back at once
      // (a worker keeping them until its handler finished would leave them unanswered here).
      assert.deepEqual(await Promise.all(waiting), [{ value: 1 }, { value: 2 }, { value: 3 }]);
      assert.equal(other.state.calls, 3);
      first.state.held.get('handover')!();
      await closing;
      assert.deepEqual(await held, { released: true });
    } finally {
      await first.client.close();
      await first.raw.close();
      if (other !== null) await tearDown(other);
    }
  });

  it('close() lets a call in progress finish', async (t) => {
    if (!up) return t.skip('no broker');
    const own = await setUp('drain');
    const holding = deferred();
    own.state.holding.set('drain', holding.resolve);
    const call = own.client.hold({ key: 'drain' }, { timeout: 5 });
    await holding.promise;
    const closing = own.worker.close();
    own.state.held.get('drain')!();
    await closing;
    assert.deepEqual(await call, { released: true });
    await own.client.close();
    await own.raw.close();
    await deleteQueue(own.queue);
  });
});

describe('connection loss', () => {
  it('fails the calls in flight at once, then the client reconnects', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const proxy = await Proxy.start();
    const own = await setUp('lost');
    const client = await NumbersClient.connect(proxy.url, { queue: own.queue, logger: own.logger });
    try {
      const holding = deferred();
      own.state.holding.set('lost', holding.resolve);
      const call = client.hold({ key: 'lost' }, { timeout: 30 });
      await holding.promise;
      const cut = Date.now();
      proxy.cut();
      const error = await rejection(call);
      assert.ok(error instanceof Unavailable);
      assert.equal(error.origin, 'lost');
      assert.ok(Date.now() - cut < 1000, `took ${Date.now() - cut} ms`);
      // An idempotent call rides out the reconnect within its deadline.
      const seen = await client.seen({}, { timeout: 10 });
      assert.equal(seen.caller, 'guest');
      assert.deepEqual(await client.add({ a: 1, b: 2 }), { value: 3 });
    } finally {
      await client.close();
      await tearDown(own);
      await proxy.stop();
    }
  });

  it('a worker reconnects and serves again', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const proxy = await Proxy.start();
    const queue = uniqueQueue('worker-lost');
    const logger = new TestLogger();
    const state = newState();
    const worker = await serveService(numbersService(queue), handlers(state), { url: proxy.url, logger, grace: 1 });
    const client = await NumbersClient.connect(undefined, { queue });
    try {
      assert.deepEqual(await client.add({ a: 1, b: 2 }), { value: 3 });
      proxy.cut();
      await logger.waitFor(/lost the connection serving/);
      // add is idempotent: retried until the worker consumes again, within the deadline.
      assert.deepEqual(await client.add({ a: 2, b: 2 }, { timeout: 10 }), { value: 4 });
    } finally {
      await client.close();
      await worker.close();
      await deleteQueue(queue);
      await proxy.stop();
    }
  });
});

describe('no broker at the address', () => {
  it('connect and serve reject with Unavailable; a bad URL is a ConfigurationError', async () => {
    // Port 1 on loopback: nothing listens there, whatever the machine.
    const url = 'amqp://guest:guest@127.0.0.1:1/%2F';
    const service = numbersService(uniqueQueue('nobroker'));
    const state = newState();
    await assert.rejects(NumbersClient.connect(url, { queue: 'q' }), (error: unknown) => {
      assert.ok(error instanceof Unavailable);
      assert.match(error.message, /^cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\//);
      return true;
    });
    await assert.rejects(serveService(service, handlers(state), { url }), Unavailable);
    await assert.rejects(NumbersClient.connect('http://example.invalid/', { queue: 'q' }), ConfigurationError);
    await assert.rejects(NumbersClient.connect(undefined), ConfigurationError); // no service, no queue
    await assert.rejects(serveService(service, { add: () => ({ value: 1 }) }), /no handler for Numbers\.reserve/);
  });
});

describe('worker options', () => {
  it('max message size, require caller, and a queue declared with other arguments', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const queue = uniqueQueue('options');
    const state = newState();
    const logger = new TestLogger();
    const worker = await serveService(numbersService(queue), handlers(state), {
      maxMessageSize: 300,
      requireCaller: true,
      logger,
    });
    const raw = await RawCaller.open();
    try {
      const anonymous = await raw.call(queue, 'add', '{"a":1,"b":2}');
      assert.equal(anonymous.status, 'UNAUTHENTICATED');
      const big = await raw.call(queue, 'add', `{"a":1,"b":2,"pad":"${'x'.repeat(400)}"}`, { userId: 'guest' });
      assert.equal(big.status, 'RESOURCE_EXHAUSTED');
      assert.match(
        (big.json as { message: string }).message,
        /^the request is 422 bytes, 122 bytes over the worker's max_message_size \(300 bytes\); it was not read$/,
      );
      const ok = await raw.call(queue, 'add', '{"a":1,"b":2}', { userId: 'guest' });
      assert.deepEqual(ok.json, { value: 3 });
      // A reply over the limit is replaced by RESOURCE_EXHAUSTED.
      const seen = await raw.call(queue, 'seen', '{}', { userId: 'guest', headers: { 'leveret-md-pad': 'y'.repeat(400) } });
      assert.equal(seen.status, 'RESOURCE_EXHAUSTED');
      assert.match((seen.json as { message: string }).message, /^the reply of seen is \d+ bytes/);
      await assert.rejects(
        serveService(numbersService(queue), handlers(state), { queueType: 'quorum', logger }),
        (error: unknown) => error instanceof ConfigurationError && /other arguments/.test(error.message),
      );
    } finally {
      await raw.close();
      await worker.close();
      await deleteQueue(queue);
    }
  });
});

describe('the client against a raw peer', () => {
  it('reads statuses and bodies as the protocol says', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const queue = uniqueQueue('raw-peer');
    const amqp = await import('amqplib');
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: true });
    // Each request says, in its sku, what the peer answers.
    const answers: Record<string, [Record<string, unknown>, string]> = {
      'BAD-0001': [{ 'rpc-status': 'OK' }, '{"id": 7}'],
      'BAD-0002': [{ 'rpc-status': 'OK' }, '{"id": NaN}'],
      'BAD-0003': [{ 'rpc-status': 'SOMETHING_NEW' }, '{"code":"SOMETHING_NEW","message":"new"}'],
      'BAD-0004': [{}, 'not json at all'],
      'BAD-0005': [{ 'rpc-status': 'NOT_FOUND' }, '[1, 2]'],
      'BAD-0006': [{ 'rpc-status': 'FAILED_PRECONDITION' }, '{"code":"FAILED_PRECONDITION","message":"m","error":"Unheard","details":{"x":1}}'],
      'BAD-0007': [{ 'rpc-status': 'OK' }, '{"id": "6f1c1ba4-53b5-4f7b-9a53-d1d5b0c7a001", "more": 1}'],
      'BAD-0008': [{ 'rpc-status': 'FAILED_PRECONDITION' }, '{"code":"FAILED_PRECONDITION","message":"m","error":"OutOfStock","details":{"available":-1}}'],
      'BAD-0009': [{ 'rpc-status': 'FAILED_PRECONDITION' }, '{"code":"FAILED_PRECONDITION","message":"m","error":"OutOfStock","details":{"available":1e400}}'],
      'BAD-0010': [{ 'rpc-status': 'FAILED_PRECONDITION' }, '{"message":"only 2","error":"OutOfStock","details":{"available":2}}'],
    };
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        const { sku } = JSON.parse(msg.content.toString()) as { sku: string };
        const [headers, body] = answers[sku]!;
        ch.sendToQueue(msg.properties.replyTo as string, Buffer.from(body), {
          correlationId: msg.properties.correlationId as string,
          headers,
        });
      },
      { noAck: true },
    );
    const client = await NumbersClient.connect(undefined, { queue });
    const logger = new TestLogger();
    const strict = await NumbersClient.connect(undefined, { queue, serverUser: 'guest', logger });
    try {
      // serverUser: the raw peer's replies carry no user_id, so they are dropped unread.
      const dropped = await rejection(strict.reserve({ sku: 'BAD-0010', quantity: 1 }, { timeout: 0.3 }));
      assert.ok(dropped instanceof DeadlineExceeded);
      assert.match(logger.lines.join('\n'), /dropped a reply from user \(none\), not the server user guest/);
      // The leveret worker sets user_id on its replies: accepted.
      const served = await setUp('serveruser');
      const real = await NumbersClient.connect(undefined, { queue: served.queue, serverUser: 'guest' });
      assert.deepEqual(await real.add({ a: 1, b: 1 }), { value: 2 });
      await real.close();
      await tearDown(served);
      const call = (sku: string) => rejection(client.reserve({ sku, quantity: 1 }));
      let error = await call('BAD-0001');
      assert.ok(error instanceof Internal);
      assert.equal(error.message, 'reserve: response failed validation: id: Input should be a valid string');
      error = await call('BAD-0002');
      assert.ok(error instanceof Internal);
      assert.match(error.message, /^reserve: response failed validation: \(body\): NaN, Infinity and -Infinity are not JSON numbers/);
      error = await call('BAD-0003');
      assert.equal(error.status, 'UNKNOWN');
      assert.equal(error.message, 'new');
      error = await call('BAD-0004');
      assert.equal(error.status, 'UNKNOWN');
      assert.equal(error.message, 'not json at all');
      error = await call('BAD-0005');
      assert.ok(error instanceof NotFound);
      assert.equal(error.message, 'NOT_FOUND');
      assert.deepEqual(error.details, [1, 2]);
      error = await call('BAD-0006');
      assert.equal(error.constructor, FailedPrecondition);
      assert.equal(error.remoteError, 'Unheard');
      // A response with a property the schema forbids is refused.
      error = await call('BAD-0007');
      assert.ok(error instanceof Internal);
      assert.match(error.message, /more: Extra inputs are not permitted/);
      // Declared details that do not fit (a newer server's, or an infinity): the plain class, raw details.
      error = await call('BAD-0008');
      assert.equal(error.constructor, FailedPrecondition);
      assert.equal(error.remoteError, 'OutOfStock');
      assert.deepEqual(error.details, { available: -1 });
      error = await call('BAD-0009');
      assert.equal(error.constructor, FailedPrecondition);
      assert.equal(error.remoteError, 'OutOfStock');
      // A lenient body (no code) with the declared name and fitting details: the declared class.
      error = await call('BAD-0010');
      assert.ok(error instanceof OutOfStock);
      assert.deepEqual(error.details, { available: 2 });
    } finally {
      await client.close();
      await strict.close();
      await conn.close();
    }
  });
});
