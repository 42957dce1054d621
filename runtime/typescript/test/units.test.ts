// The parts of the runtime that need no broker: reading bodies, metadata rules, retry decisions.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Backoff, DeadlineTimer } from '../src/backoff';
import { Unavailable, InvalidArgument, errorClassFor, Unknown, DeadlineExceeded } from '../src/errors';
import { encodePublish, type RequestProperties } from '../src/publish';
import { RetryPolicy } from '../src/retry';
import { statusFromWire } from '../src/status';
import { BodyError, readBody } from '../src/validate';
import { checkMetadata, decodeError, pyRepr, readAttempt, readDeadline, readFingerprint, readMetadata } from '../src/wire';

function bodyError(text: string | Buffer, schema?: Record<string, unknown>) {
  try {
    readBody(Buffer.isBuffer(text) ? text : Buffer.from(text), schema);
  } catch (error) {
    assert.ok(error instanceof BodyError);
    return error.details;
  }
  assert.fail(`accepted ${String(text)}`);
}

describe('reading a body', () => {
  it('refuses what leveret does not take as JSON', () => {
    assert.equal(bodyError('{"a": NaN}')[0]!.type, 'json_invalid');
    assert.match(bodyError('[Infinity]')[0]!.msg, /^NaN, Infinity and -Infinity are not JSON numbers \(at line 1 column 2\)$/);
    assert.deepEqual(bodyError('{"a": 1, "b": 2e999}'), [
      { loc: ['b'], msg: 'a number too large for a double (it would read as infinity)', type: 'finite_number' },
    ]);
    assert.match(bodyError(`[${'1'.repeat(4301)}]`)[0]!.msg, /^Invalid JSON: number out of range at line 1 column 2$/);
    assert.equal(bodyError('"\\udc00"')[0]!.type, 'json_invalid');
    assert.equal(bodyError(Buffer.from([0x22, 0xc3, 0x28, 0x22]))[0]!.type, 'json_invalid');
    assert.equal(bodyError('\ufeff{}')[0]!.msg, 'Invalid JSON: expected value at line 1 column 1');
  });

  it('refuses a value nested deeper than pydantic-core reads, before anything recursive', () => {
    // The verdicts and places the Python runtime gives (model_validate_json; jiter's limit 200).
    const refused = (text: string, where: string) =>
      assert.deepEqual(bodyError(text, { type: 'object' }), [
        { loc: [], msg: `Invalid JSON: recursion limit exceeded at ${where}`, type: 'json_invalid' },
      ]);
    refused(`{"a":${'['.repeat(100000)}${']'.repeat(100000)}}`, 'line 1 column 206');
    refused(`{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, 'line 1 column 1006');
    refused(`{"a":${'['.repeat(201)}${']'.repeat(201)}}`, 'line 1 column 206');
    refused(`{"a":${'[{"b":'.repeat(199)}1${'}]'.repeat(199)}}`, 'line 1 column 606');
    refused(`{"a":["\u00e9\u20ac\u{1f600}",\n"\u00e9",${'['.repeat(201)}${']'.repeat(201)}]}`, 'line 2 column 205');
    refused(`{"a":${'['.repeat(201)}1,]${']'.repeat(200)}}`, 'line 1 column 206'); // the nesting comes first
    assert.match(bodyError(`{"a":[1,]${'['.repeat(201)}${']'.repeat(201)}}`)[0]!.msg, /^Invalid JSON: unexpected token/);
    assert.deepEqual(readBody(Buffer.from(`{"a":${'['.repeat(200)}${']'.repeat(200)}}`)), {
      a: JSON.parse('['.repeat(200) + ']'.repeat(200)),
    });
    assert.ok(readBody(Buffer.from(`${'['.repeat(199)}[1,{}, "[[["]${']'.repeat(199)}`)));
    assert.ok(readBody(Buffer.from(`${'{"a":'.repeat(200)}1${'}'.repeat(200)}`)));
  });

  it('takes what it should', () => {
    assert.deepEqual(readBody(Buffer.from('{"a": 1, "b": 1, "a": 40}')), { a: 40, b: 1 }); // last key wins
    assert.deepEqual(readBody(Buffer.from('{"a": 1e-400, "s": "NaN Infinity"}')), { a: 0, s: 'NaN Infinity' });
    assert.deepEqual(readBody(Buffer.from(`[1.${'0'.repeat(5000)}]`)), [1]);
  });

  it('reports schema failures as pydantic does (loc, msg, type)', () => {
    const schema = {
      type: 'object',
      properties: {
        points: {
          type: 'array',
          items: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] },
        },
        n: { type: 'integer', enum: [1, 2] },
      },
    };
    assert.deepEqual(bodyError('{"points": [{"x": "1"}]}', schema), [
      { loc: ['points', '0', 'y'], msg: 'Field required', type: 'missing' },
      { loc: ['points', '0', 'x'], msg: 'Input should be a valid number', type: 'float_type' },
    ]);
    assert.equal(bodyError('{"n": true}', schema)[0]!.loc[0], 'n'); // true is not 1
    const many = bodyError(JSON.stringify({ points: Array.from({ length: 150 }, () => ({})) }), schema);
    assert.equal(many.length, 101);
    assert.deepEqual(many[100], { loc: [], msg: '... and 200 more error(s)', type: 'too_many_errors' });
  });
});

describe('headers', () => {
  it('metadata rules, as the Python runtime words them', () => {
    assert.deepEqual(checkMetadata({ tenant: 'acme', 'a.b-c_d': '' }), { tenant: 'acme', 'a.b-c_d': '' });
    assert.throws(() => checkMetadata({ Tenant: 'x' }), /^Error: metadata key 'Tenant': 1 to 64 characters of a-z, 0-9, '-', '_' and '.'$/);
    assert.throws(() => checkMetadata({ k: 'line\nbreak' }), /control character or a line separator/);
    assert.throws(() => checkMetadata({ k: '\u2028' }), /control character/);
    assert.throws(() => checkMetadata({ k: 'é'.repeat(2049) }), /over 4096 bytes of UTF-8/);
    assert.throws(() => checkMetadata({ k: 1 as unknown as string }), /values are str, not int/);
    assert.throws(() => checkMetadata(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']))), /65 entries/);
    assert.throws(() => checkMetadata({ a: 'x'.repeat(4096), b: 'x'.repeat(4096), c: 'x' }), /more than 8192/);
    assert.equal(readMetadata({ 'leveret-md-ok': 'v', other: 1 })?.ok, 'v');
    assert.equal(readMetadata({ 'leveret-md-BAD': 'v' }), null);
  });

  it('deadline, attempt and fingerprint are read leniently', () => {
    assert.equal(readDeadline({ 'rpc-deadline': 1795712345678 }), 1795712345678);
    assert.equal(readDeadline({ 'rpc-deadline': 1795712345678.9 }), 1795712345678);
    assert.equal(readDeadline({ 'rpc-deadline': '1795712345678' }), null);
    assert.equal(readDeadline({ 'rpc-deadline': true }), null);
    assert.equal(readAttempt({ 'rpc-attempt': 3 }), 2);
    assert.equal(readAttempt({ 'rpc-attempt': 0 }), 0);
    assert.equal(readAttempt({ 'rpc-attempt': 2 ** 31 }), 0);
    assert.equal(readAttempt({}), 0);
    assert.equal(readFingerprint({ 'rpc-fingerprint': 'sha256:ab' }), 'sha256:ab');
    assert.equal(readFingerprint({ 'rpc-fingerprint': 'é' }), null);
    assert.equal(readFingerprint({ 'rpc-fingerprint': 'x'.repeat(129) }), null);
    assert.equal(statusFromWire('NOT_FOUND'), 'NOT_FOUND');
    assert.equal(statusFromWire('SOMETHING_NEW'), 'UNKNOWN');
    assert.equal(statusFromWire(undefined), 'UNKNOWN');
    assert.equal(errorClassFor('OK'), Unknown);
    assert.equal(pyRepr("it's"), '"it\'s"');
    assert.deepEqual(decodeError('INTERNAL', Buffer.from('{"message": 5, "error": 1}')), {
      code: 'INTERNAL',
      message: 'INTERNAL',
      error: null,
      details: null,
    });
  });
});

describe('retries', () => {
  it('only UNAVAILABLE, only when safe, never past the deadline', () => {
    const policy = new RetryPolicy();
    const far = Date.now() + 60_000;
    const server = new Unavailable('down', null, { origin: 'server' });
    assert.ok(policy.nextDelay(server, true, 0, far) !== null);
    assert.equal(policy.nextDelay(server, false, 0, far), null); // not idempotent, and it reached the service
    assert.ok(policy.nextDelay(new Unavailable('x', null, { origin: 'nack' }), false, 0, far) !== null);
    assert.ok(policy.nextDelay(new Unavailable('x', null, { origin: 'no-route' }), false, 0, far) !== null);
    assert.equal(policy.nextDelay(new Unavailable('x', null, { origin: 'no-route' }), false, 1, far), null);
    assert.equal(policy.nextDelay(new Unavailable('x', null, { origin: 'lost' }), false, 0, far), null);
    assert.ok(policy.nextDelay(new Unavailable('x', null, { origin: 'lost' }), true, 0, far) !== null);
    assert.equal(policy.nextDelay(new Unavailable('x', null, { origin: 'refused' }), true, 0, far), null);
    assert.equal(policy.nextDelay(new DeadlineExceeded('x'), true, 0, far), null);
    assert.equal(policy.nextDelay(new InvalidArgument('x'), true, 0, far), null);
    assert.equal(policy.nextDelay(new Unavailable('x', null, { origin: 'local' }), true, 0, Date.now() + 1), null);
    assert.equal(new RetryPolicy({ maxAttempts: 1 }).nextDelay(server, true, 0, far), null);
    const backoff = new Backoff(0.05, 2, 2, 0.2);
    assert.ok(backoff.delayMs(0) >= 40 && backoff.delayMs(0) <= 60);
    assert.ok(backoff.delayMs(20) >= 1600 && backoff.delayMs(20) <= 2400);
  });
});

describe('publish frames', () => {
  // amqplib's own encoders, which publishDirect stands in for: the bytes must be the same.
  const defs = require('amqplib/lib/defs') as {
    encodeMethod(method: unknown, ch: number, fields: unknown): Buffer;
    encodeProperties(props: unknown, ch: number, size: number, fields: unknown): Buffer;
    BasicPublish: unknown;
    BasicProperties: unknown;
  };
  const frame = require('amqplib/lib/frame') as { makeBodyFrame(ch: number, body: Buffer): Buffer };
  const args = require('amqplib/lib/api_args') as { publish(exchange: string, queue: string, options: unknown): unknown };

  function amqplibBytes(ch: number, queue: string, body: Buffer, props: RequestProperties): Buffer {
    const fields = args.publish('', queue, { ...props, mandatory: true });
    const parts = [defs.encodeMethod(defs.BasicPublish, ch, fields), defs.encodeProperties(defs.BasicProperties, ch, body.length, fields)];
    if (body.length > 0) parts.push(frame.makeBodyFrame(ch, body));
    return Buffer.concat(parts);
  }

  const base: RequestProperties = {
    contentType: 'application/json',
    correlationId: '0123456789abcdef0123456789abcdef',
    replyTo: 'amq.rabbitmq.reply-to',
    type: 'add',
    expiration: '4999',
    headers: { 'rpc-fingerprint': 'sha256:' + 'a'.repeat(64), 'leveret-attempt': 1, 'leveret-deadline': { '!': 'long', value: 1764940000123 } },
    userId: 'guest',
  };

  it('are the bytes amqplib writes for the same publish', () => {
    const cases: Array<[number, string, Buffer, RequestProperties]> = [
      [1, 'calc', Buffer.from('{"a":1,"b":2}'), base],
      [7, 'q.é', Buffer.from('{}'), { ...base, expiration: undefined, headers: { 'leveret-attempt': 3 } }],
      [65535, 'x'.repeat(255), Buffer.alloc(0), { ...base, type: 'méthode', userId: 'üser' }],
      [
        2,
        'calc',
        Buffer.from('[1]'),
        {
          ...base,
          headers: {
            'leveret-md-tenant': 'ä'.repeat(300),
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
            skipped: undefined,
            'leveret-attempt': 200,
            short: -129,
            int: 40000,
            negint: -2147483648,
            long: 2 ** 40,
            'leveret-deadline': { '!': 'long', value: -5 },
          },
        },
      ],
    ];
    for (const [ch, queue, body, props] of cases) {
      const ours = encodePublish(ch, 131072, queue, body, props);
      assert.ok(ours !== null);
      assert.deepEqual(ours, amqplibBytes(ch, queue, body, props), `channel ${ch}, queue ${queue.slice(0, 20)}`);
    }
  });

  it("leaves to amqplib what it does not encode", () => {
    const body = Buffer.from('{}');
    assert.equal(encodePublish(1, 131072, 'q'.repeat(256), body, base), null);
    assert.equal(encodePublish(1, 131072, 'q', body, { ...base, type: 'é'.repeat(128) }), null);
    assert.equal(encodePublish(1, 131072, 'q', body, { ...base, headers: { f: 1.5 } }), null);
    assert.equal(encodePublish(1, 131072, 'q', body, { ...base, headers: { b: true } }), null);
    assert.equal(encodePublish(1, 131072, 'q', body, { ...base, headers: { big: 2 ** 60 } }), null);
    assert.equal(encodePublish(1, 4096, 'q', Buffer.alloc(4089), base), null);
    assert.ok(encodePublish(1, 4096, 'q', Buffer.alloc(4088), base) !== null);
  });
});

describe('deadline timer', () => {
  /** Resolves when `count` entries expired, rejects after `ms`. */
  function expiries(count: number, ms: number): { fired: number[]; done: Promise<void>; note: (when: number) => void } {
    const fired: number[] = [];
    let resolve!: () => void;
    // Ref'd, unlike the DeadlineTimer's own (a connection keeps a client's process alive).
    let guard: NodeJS.Timeout;
    const done = new Promise<void>((res, rej) => {
      resolve = () => (clearTimeout(guard), res());
      guard = setTimeout(() => rej(new Error(`only ${fired.length} of ${count} expired within ${ms} ms`)), ms);
    });
    return { fired, done, note: (when) => (fired.push(when), fired.length === count && resolve()) };
  }

  it('expires what is due, earliest first, and never what was removed', async () => {
    const timer = new DeadlineTimer();
    const now = Date.now();
    const whens = Array.from({ length: 400 }, (_, i) => now - 1000 + ((i * 7919) % 400));
    const wait = expiries(200, 5000);
    const entries = whens.map((when) => timer.add(when, () => wait.note(when)));
    const kept: number[] = [];
    entries.forEach((entry, i) => (i % 2 === 0 ? timer.remove(entry) : kept.push(whens[i]!)));
    timer.remove(entries[0]!); // twice: nothing
    assert.equal(timer.size, 200);
    await wait.done;
    assert.deepEqual(wait.fired, [...kept].sort((a, b) => a - b));
    assert.equal(timer.size, 0);
  });

  it('fires at a deadline ahead, after an earlier one came and one before it was removed', async () => {
    const timer = new DeadlineTimer();
    const start = Date.now();
    const wait = expiries(2, 5000);
    timer.add(start + 60, () => wait.note(60));
    const gone = timer.add(start + 5, () => wait.note(5));
    timer.add(start + 20, () => wait.note(20));
    timer.remove(gone);
    await wait.done;
    assert.deepEqual(wait.fired, [20, 60]);
    assert.ok(Date.now() >= start + 60, `fired ${Date.now() - start} ms after`);
    const cleared = timer.add(Date.now() - 1, () => assert.fail('expired after clear()'));
    timer.clear();
    assert.equal(cleared.index, -1);
    assert.equal(timer.size, 0);
  });
});
