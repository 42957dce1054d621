// Contract drift and the authorize hook, as the Python worker does them (docs/wire-protocol.md §3
// cases 4a-4d, "Reflection", "Contract drift"; tests/integration/test_reflection_and_drift.py):
// authorize decides before the drift check, and before leveret.describe is answered; the memory
// of warned pairs is bounded (least recently seen forgotten) and shared by every worker, or every
// client, of the process; a call refused across contracts says so and is told to driftRefused.

import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import {
  FailedPrecondition,
  Internal,
  methodSpec,
  PermissionDenied,
  RpcError,
  serveService,
  type AuthorizeContext,
  type ContractDrift,
  type Handler,
  type MethodSpec,
  type ServeOptions,
  type ServiceSpec,
  type Worker,
} from '../src/index';
import { CLIENT_DRIFTS, DriftLog, MAX_REMEMBERED, RememberedDrifts, SERVER_DRIFTS } from '../src/drift';
import { ADD, brokerUp, deleteQueue, numbersService, NumbersClient, RawCaller, TestLogger, uniqueQueue } from './helpers';

const SERVICE = 'Numbers';

/** The test service as a newer definition would generate it: `add` has another contract. */
function newerService(queue: string, fingerprint: string): ServiceSpec {
  const base = numbersService(queue);
  return { ...base, methods: { ...base.methods, add: methodSpec({ ...ADD, fingerprint }) } };
}

function handlers(): Record<string, Handler<any, any>> {
  const unused = () => {
    throw new Internal('not used by these tests');
  };
  return {
    add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }),
    reserve: unused,
    seen: unused,
    flaky: unused,
    hold: unused,
    boom: unused,
  };
}

/** `promise`, or a failure after `ms`: a reply that never comes fails the test, not the run. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RpcError, `not an RpcError: ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

function driftLines(logger: TestLogger, side: 'client' | 'server'): string[] {
  return logger.lines.filter((line) => line.startsWith(`leveret.${side}: contract drift on`));
}

function pair(n: number): ContractDrift {
  return { service: 'Inventory', method: 'reserve', client: `sha256:${n.toString(16).padStart(64, '0')}`, server: 'sha256:' + 'f'.repeat(64) };
}

describe('the drift log, without a broker', () => {
  it('warns once per pair', () => {
    const logger = new TestLogger();
    const log = new DriftLog('server', logger, new RememberedDrifts());
    for (const n of [1, 2, 1, 2, 1]) log.report(pair(n), 'caller guest');
    assert.equal(driftLines(logger, 'server').length, 2);
    assert.equal(log.remembered.size, 2);
  });

  it('past its capacity it forgets the least recently seen pair', () => {
    const logger = new TestLogger();
    const log = new DriftLog('server', logger, new RememberedDrifts(3));
    for (const n of [1, 2, 3]) log.report(pair(n), 'p');
    log.report(pair(1), 'p'); // seen again: now the most recent
    log.report(pair(4), 'p'); // over capacity: 2 is forgotten, not 1
    assert.equal(log.remembered.size, 3);
    assert.ok(log.remembered.has(pair(1)) && !log.remembered.has(pair(2)));
    logger.lines.length = 0;
    log.report(pair(1), 'p');
    log.report(pair(2), 'p'); // forgotten, so warned again
    const warned = driftLines(logger, 'server');
    assert.equal(warned.length, 1);
    assert.ok(warned[0]!.includes(pair(2).client));
  });

  it('a flood never stops the warnings', () => {
    const logger = new TestLogger();
    const log = new DriftLog('client', logger, new RememberedDrifts(8));
    for (let n = 0; n < 1000; n++) log.report(pair(n), 'p');
    logger.lines.length = 0;
    const genuine: ContractDrift = { service: 'Inventory', method: 'reserve', client: 'sha256:1', server: 'sha256:2' };
    log.report(genuine, 'p');
    log.report(genuine, 'p');
    assert.equal(driftLines(logger, 'client').length, 1);
    assert.equal(log.remembered.size, 8);
  });

  for (const [side, refused, ending] of [
    ['server', false, '; the call goes on, validated as usual'],
    ['client', false, '; the call goes on, validated as usual'],
    ['server', true, "; the call is refused (on_drift='reject')"],
    ['client', true, '; the worker refused the call (FAILED_PRECONDITION)'],
  ] as const) {
    it(`the ${side}'s warning says what became of a ${refused ? 'refused' : 'served'} call`, () => {
      const logger = new TestLogger();
      new DriftLog(side, logger, new RememberedDrifts()).report(pair(1), 'caller guest', refused);
      const [warned] = driftLines(logger, side);
      assert.ok(warned!.startsWith(`leveret.${side}: contract drift on Inventory.reserve: `), warned);
      assert.ok(warned!.endsWith(ending), warned);
    });
  }

  it('every DriftLog of one side shares the process memory unless given its own', () => {
    const first = new TestLogger();
    const second = new TestLogger();
    const drift = pair(Number.parseInt(randomBytes(4).toString('hex'), 16));
    new DriftLog('client', first).report(drift, 'p');
    new DriftLog('client', second).report(drift, 'p');
    assert.equal(driftLines(first, 'client').length + driftLines(second, 'client').length, 1);
    assert.ok(CLIENT_DRIFTS.has(drift) && !SERVER_DRIFTS.has(drift));
  });
});

describe('contract drift and authorize, over RabbitMQ', () => {
  let up = false;
  let queue: string;
  let newer: string;
  let logger: TestLogger;
  let raw: RawCaller | null;
  const workers: Worker[] = [];
  const clients: NumbersClient[] = [];

  before(async () => {
    up = await brokerUp();
  });

  beforeEach(() => {
    queue = uniqueQueue('drift');
    // A fingerprint of its own per test: no pair a test warned about is remembered by the next.
    newer = `sha256:add-v2-${randomBytes(4).toString('hex')}`;
    logger = new TestLogger();
    raw = null;
    SERVER_DRIFTS.clear();
    CLIENT_DRIFTS.clear();
  });

  afterEach(async () => {
    if (!up) return;
    for (const client of clients.splice(0)) await client.close();
    for (const worker of workers.splice(0)) await worker.close();
    await raw?.close();
    await deleteQueue(queue);
  });

  after(() => {
    SERVER_DRIFTS.clear();
    CLIENT_DRIFTS.clear();
  });

  async function serve(options: ServeOptions = {}): Promise<Worker> {
    const worker = await serveService(newerService(queue, newer), handlers(), { logger, grace: 2, ...options });
    workers.push(worker);
    return worker;
  }

  /** A client generated from the older contract of `add` (sha256:add-v1). */
  async function older(): Promise<NumbersClient> {
    const client = await NumbersClient.connect(undefined, { queue, logger });
    clients.push(client);
    return client;
  }

  for (const onDrift of ['warn', 'reject'] as const) {
    it(`authorize decides before the drift check (onDrift '${onDrift}')`, async (t) => {
      if (!up) return t.skip('no broker');
      const shown: Array<ContractDrift | null> = [];
      await serve({
        onDrift,
        authorize: (_method, context: AuthorizeContext) => {
          shown.push(context.contractDrift);
          throw new PermissionDenied('nobody may add');
        },
      });
      const client = await older();
      const error = await rejection(within(10_000, client.add({ a: 1, b: 2 })));
      // Whatever contract it speaks, the refused caller hears of its permission only.
      assert.ok(error instanceof PermissionDenied, `${error.status}: ${error.message}`);
      assert.equal(error.message, 'nobody may add');
      assert.deepEqual(driftLines(logger, 'server'), []);
      assert.equal(SERVER_DRIFTS.size, 0);
      // The hook may read the drift to decide on it.
      assert.deepEqual(shown, [{ service: SERVICE, method: 'add', client: 'sha256:add-v1', server: newer }]);
    });
  }

  it('a hook that fails refuses the call with INTERNAL, and an async hook is waited for', async (t) => {
    if (!up) return t.skip('no broker');
    await serve({
      authorize: async (_method, context) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (context.metadata.who === 'bug') throw new Error('secret-in-the-hook');
        if (context.caller !== 'nobody') throw new PermissionDenied(`${String(context.caller)} may not`);
      },
    });
    const client = await older();
    const denied = await rejection(within(10_000, client.add({ a: 1, b: 2 })));
    assert.ok(denied instanceof PermissionDenied && denied.message === 'guest may not', denied.message);
    const failed = await rejection(within(10_000, client.add({ a: 1, b: 2 }, { metadata: { who: 'bug' } })));
    assert.ok(failed instanceof Internal);
    assert.match(failed.message, /^internal error in add \(correlation id [0-9a-f]+\)$/);
    assert.ok(logger.lines.some((line) => line.includes('authorize failed for add') && line.includes('secret-in-the-hook')));
    assert.deepEqual(driftLines(logger, 'server'), []);
  });

  it('invalid metadata is refused before the drift check', async (t) => {
    if (!up) return t.skip('no broker');
    await serve({ onDrift: 'reject' });
    raw = await RawCaller.open();
    const reply = await within(
      10_000,
      raw.call(queue, 'add', '{"a":1,"b":2}', { headers: { 'rpc-fingerprint': 'sha256:add-v1', 'leveret-md-Tenant': 'acme' } }),
    );
    assert.equal(reply.status, 'INVALID_ARGUMENT');
    assert.deepEqual(driftLines(logger, 'server'), []);
    assert.equal(SERVER_DRIFTS.size, 0);
  });

  it('a request over the size limit is refused before the drift check', async (t) => {
    if (!up) return t.skip('no broker');
    // A limit the refusals' own replies fit in: the reply's size check replaces none of them.
    await serve({ onDrift: 'reject', maxMessageSize: 1024 });
    raw = await RawCaller.open();
    const body = JSON.stringify({ a: 1, b: 2, pad: 'x'.repeat(2000) });
    const reply = await within(10_000, raw.call(queue, 'add', body, { headers: { 'rpc-fingerprint': 'sha256:add-v1' } }));
    assert.equal(reply.status, 'RESOURCE_EXHAUSTED');
    assert.match((reply.json as { message: string }).message, /^the request is \d+ bytes, \d+ bytes over the worker's max_message_size \(1024 bytes\)/);
    assert.deepEqual(driftLines(logger, 'server'), []);
    assert.equal(SERVER_DRIFTS.size, 0);
  });

  for (const allowed of [true, false]) {
    it(`leveret.describe goes through the authorize hook (${allowed ? 'allowed' : 'refused'})`, async (t) => {
      if (!up) return t.skip('no broker');
      const asked: Array<[string, boolean, string | null]> = [];
      await serve({
        authorize: (method: MethodSpec<any, any>, context) => {
          asked.push([method.name, method.idempotent, context.caller]);
          if (method.name === 'leveret.describe' && !allowed) {
            throw new PermissionDenied(`${String(context.caller)} may not read the definition`);
          }
        },
      });
      raw = await RawCaller.open();
      const reply = await within(10_000, raw.call(queue, 'leveret.describe', '{}', { userId: 'guest' }));
      if (allowed) {
        assert.equal(reply.status, 'OK');
        assert.equal((reply.json as { definition: { service: string } }).definition.service, SERVICE);
      } else {
        assert.equal(reply.status, 'PERMISSION_DENIED');
        assert.equal((reply.json as { message: string }).message, 'guest may not read the definition');
        assert.equal(reply.properties.headers?.['rpc-fingerprint'], undefined);
      }
      // The service's methods are the hook's business as before.
      const client = await older();
      assert.deepEqual(await within(10_000, client.add({ a: 1, b: 2 })), { value: 3 });
      assert.deepEqual(asked, [
        ['leveret.describe', true, 'guest'],
        ['add', ADD.idempotent, 'guest'],
      ]);
    });
  }

  it('a hook written for the definition\'s methods only fails closed on leveret.describe', async (t) => {
    if (!up) return t.skip('no broker');
    const roles: Record<string, string[]> = { add: ['guest'] };
    await serve({
      authorize: (method, context) => {
        if (!roles[method.name]!.includes(String(context.caller))) throw new PermissionDenied('no');
      },
    });
    raw = await RawCaller.open();
    const reply = await within(10_000, raw.call(queue, 'leveret.describe', '{}', { userId: 'guest' }));
    assert.equal(reply.status, 'INTERNAL');
    assert.match((reply.json as { message: string }).message, /^internal error in leveret\.describe \(correlation id /);
  });

  it('onDrift reject refuses a drifted call naming both fingerprints, says so and tells driftRefused', async (t) => {
    if (!up) return t.skip('no broker');
    const refused: ContractDrift[] = [];
    await serve({
      onDrift: 'reject',
      driftRefused: (drift) => {
        refused.push(drift);
        // A bug in the hook: logged, and the refusal goes out all the same.
        if (refused.length === 2) throw new Error('a bug in the hook');
      },
    });
    const client = await older();
    for (let i = 0; i < 3; i++) {
      const error = await rejection(within(10_000, client.add({ a: 1, b: 2 })));
      assert.ok(error instanceof FailedPrecondition);
      assert.equal(
        error.message,
        `${SERVICE}.add: the caller was generated from contract sha256:add-v1, this worker serves ${newer}; ` +
          "it refuses calls across contracts (on_drift='reject'): regenerate the client",
      );
    }
    const drift = { service: SERVICE, method: 'add', client: 'sha256:add-v1', server: newer };
    // Each refusal is told (to be counted), the warning is once per pair.
    assert.deepEqual(refused, [drift, drift, drift]);
    const server = driftLines(logger, 'server');
    assert.equal(server.length, 1);
    assert.ok(server[0]!.endsWith("; the call is refused (on_drift='reject')"), server[0]);
    assert.ok(!server[0]!.includes('goes on'));
    assert.equal(logger.lines.filter((line) => line.includes('driftRefused failed') && line.includes('a bug in the hook')).length, 1);
  });

  it('onDrift warn serves a drifted call and says it goes on', async (t) => {
    if (!up) return t.skip('no broker');
    const refused: ContractDrift[] = [];
    await serve({ driftRefused: (drift) => void refused.push(drift) });
    const client = await older();
    assert.deepEqual(await within(10_000, client.add({ a: 1, b: 2 })), { value: 3 });
    const server = driftLines(logger, 'server');
    assert.equal(server.length, 1);
    assert.ok(server[0]!.endsWith('; the call goes on, validated as usual'), server[0]);
    assert.deepEqual(refused, []);
  });

  it("a client refused across contracts says the worker refused the call, once per pair", async (t) => {
    if (!up) return t.skip('no broker');
    await serve({ onDrift: 'reject' });
    const client = await older();
    for (let i = 0; i < 2; i++) {
      assert.ok((await rejection(within(10_000, client.add({ a: 1, b: 2 })))) instanceof FailedPrecondition);
    }
    const warned = driftLines(logger, 'client');
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.ok(warned[0]!.includes(`the caller's contract is sha256:add-v1, the worker's ${newer} (queue ${queue})`), warned[0]);
    assert.ok(warned[0]!.endsWith('; the worker refused the call (FAILED_PRECONDITION)'), warned[0]);
    assert.ok(!warned[0]!.includes('goes on'));
  });

  it('a client served across contracts says the call goes on', async (t) => {
    if (!up) return t.skip('no broker');
    await serve();
    const client = await older();
    assert.deepEqual(await within(10_000, client.add({ a: 1, b: 2 })), { value: 3 });
    const warned = driftLines(logger, 'client');
    assert.equal(warned.length, 1, warned.join('\n'));
    assert.ok(warned[0]!.endsWith('; the call goes on, validated as usual'), warned[0]);
  });

  it('a flood of fingerprints neither grows memory nor silences a later drift', { timeout: 120_000 }, async (t) => {
    if (!up) return t.skip('no broker');
    await serve();
    raw = await RawCaller.open();
    const replies = Array.from({ length: MAX_REMEMBERED + 100 }, (_, i) =>
      raw!.call(queue, 'add', '{"a":1,"b":2}', { headers: { 'rpc-fingerprint': `sha256:${i.toString(16).padStart(64, '0')}` } }),
    );
    for (const reply of await within(60_000, Promise.all(replies))) assert.equal(reply.status, 'OK');
    assert.equal(SERVER_DRIFTS.size, MAX_REMEMBERED);
    logger.lines.length = 0;
    const client = await older();
    for (let i = 0; i < 3; i++) assert.deepEqual(await within(10_000, client.add({ a: 1, b: 2 })), { value: 3 });
    const server = driftLines(logger, 'server');
    assert.equal(server.length, 1, server.join('\n'));
    assert.ok(server[0]!.includes('sha256:add-v1') && server[0]!.includes(newer), server[0]);
    assert.equal(SERVER_DRIFTS.size, MAX_REMEMBERED);
  });

  it('short-lived clients and workers of one process warn once per pair and side', { timeout: 60_000 }, async (t) => {
    if (!up) return t.skip('no broker');
    // Each worker and each client logs to a logger of its own: the memory, not the logger, is shared.
    const loggers: TestLogger[] = [];
    for (let w = 0; w < 2; w++) {
      const workerLogger = new TestLogger();
      loggers.push(workerLogger);
      const worker = await serve({ logger: workerLogger });
      for (let c = 0; c < 5; c++) {
        const clientLogger = new TestLogger();
        loggers.push(clientLogger);
        const client = await NumbersClient.connect(undefined, { queue, logger: clientLogger });
        try {
          assert.deepEqual(await within(10_000, client.add({ a: 1, b: 2 })), { value: 3 });
        } finally {
          await client.close();
        }
      }
      await worker.close();
      workers.splice(workers.indexOf(worker), 1);
    }
    const server = loggers.flatMap((l) => driftLines(l, 'server'));
    const client = loggers.flatMap((l) => driftLines(l, 'client'));
    assert.deepEqual([server.length, client.length], [1, 1], [...server, ...client].join('\n'));
  });
});
