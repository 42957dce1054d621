// A request whose headers table amqplib cannot decode (review 13: nested 5000 deep, amqplib's
// recursive decoder overflowed the stack, the worker's connection dropped, and the broker
// redelivered the request to every new connection, forever). Wire protocol §3 case 1a: the
// worker answers INVALID_ARGUMENT, rejects that request without requeue and serves the others.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as amqp from 'amqplib';

import { Internal, serveService, type Handler } from '../src/index';
import { AMQP_URL, brokerUp, deleteQueue, numbersService, TestLogger, uniqueQueue } from './helpers';

/** `promise`, or a failure after `ms`: what never comes fails the test, not the run. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function shortstr(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

/** A headers table holding one table in another, `depth` deep, as bytes (no encoder nests so). */
function nestedTable(depth: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i += 1) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(inner.length);
    inner = Buffer.concat([Buffer.from('\x01aF', 'latin1'), length, inner]);
  }
  return inner;
}

/**
 * The frames of a basic.publish to `queue` whose headers table is `table`, raw: amqplib would
 * encode no such table (its encoder recurses too).
 */
function publishFrames(channel: number, queue: string, props: { cid: string; replyTo: string; type: string }, table: Buffer, body: Buffer): Buffer {
  const method = Buffer.concat([
    Buffer.from([0, 60, 0, 40, 0, 0]), // basic.publish, ticket 0
    shortstr(''),
    shortstr(queue),
    Buffer.from([0]), // neither mandatory nor immediate
  ]);
  const sizes = Buffer.alloc(16);
  sizes.writeUInt16BE(60, 0);
  sizes.writeUInt16BE(0, 2);
  sizes.writeBigUInt64BE(BigInt(body.length), 4);
  // content-type, headers, correlation-id, reply-to, type
  sizes.writeUInt16BE(0x8000 | 0x2000 | 0x0400 | 0x0200 | 0x0020, 12);
  const tableLength = Buffer.alloc(4);
  tableLength.writeUInt32BE(table.length);
  const header = Buffer.concat([
    sizes.subarray(0, 14),
    shortstr('application/json'),
    tableLength,
    table,
    shortstr(props.cid),
    shortstr(props.replyTo),
    shortstr(props.type),
  ]);
  return Buffer.concat([frame(1, channel, method), frame(2, channel, header), frame(3, channel, body)]);
}

const unused = () => {
  throw new Internal('not used by these tests');
};

describe('a request whose headers table cannot be decoded', () => {
  it('is answered INVALID_ARGUMENT and rejected; the worker keeps its connection and serves the next', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const queue = uniqueQueue('undecodable');
    const logger = new TestLogger();
    const handlers: Record<string, Handler<any, any>> = {
      add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }),
      reserve: unused,
      seen: unused,
      flaky: unused,
      hold: unused,
      boom: unused,
    };
    const worker = await serveService(numbersService(queue), handlers, { logger, grace: 1 });
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      const { queue: replyTo } = await ch.assertQueue('', { exclusive: true });
      const replies = new Map<string, (msg: amqp.ConsumeMessage) => void>();
      await ch.consume(replyTo, (msg) => msg && replies.get(String(msg.properties.correlationId))?.(msg), { noAck: true });
      const reply = (cid: string) => new Promise<amqp.ConsumeMessage>((resolve) => replies.set(cid, resolve));

      const poisoned = reply('poison');
      const raw = ch as unknown as { ch: number; connection: { sendBytes(bytes: Buffer): void } };
      raw.connection.sendBytes(
        publishFrames(raw.ch, queue, { cid: 'poison', replyTo, type: 'add' }, nestedTable(5000), Buffer.from('{"a":1,"b":2}')),
      );
      const refused = await within(5000, poisoned, 'the reply to the undecodable request');
      assert.equal(refused.properties.headers?.['rpc-status'], 'INVALID_ARGUMENT');
      const error = JSON.parse(refused.content.toString('utf8')) as { message: string };
      assert.match(error.message, /^undecodable request properties: cannot decode the headers table: RangeError: /);

      const good = reply('good');
      ch.publish('', queue, Buffer.from('{"a":2,"b":3}'), {
        contentType: 'application/json',
        correlationId: 'good',
        replyTo,
        type: 'add',
      });
      const answered = await within(5000, good, 'the reply to the next request');
      assert.equal(answered.properties.headers?.['rpc-status'], 'OK');
      assert.deepEqual(JSON.parse(answered.content.toString('utf8')), { value: 5 });

      // Rejected, not requeued; and the worker's connection was never lost.
      const state = await ch.checkQueue(queue);
      assert.equal(state.messageCount, 0);
      assert.equal(state.consumerCount, 1);
      assert.ok(!logger.lines.some((line) => /lost the connection/.test(line)), logger.lines.join('\n'));
      assert.ok(logger.lines.some((line) => /rejected a request whose properties cannot be decoded \(method=add, cid=poison\)/.test(line)));
    } finally {
      await conn.close();
      await worker.close();
      await deleteQueue(queue);
    }
  });
});
