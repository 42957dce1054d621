// A reply whose headers table amqplib cannot decode (nested 5000 deep) costs the client that call
// only (review 13): before src/amqpcodec.ts, amqplib's recursive decoder overflowed the stack while
// reading frames and dropped the client's connection, failing every call in flight.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as amqp from 'amqplib';

import { RpcError, Unavailable } from '../src/index';
import { AMQP_URL, brokerUp, deleteQueue, NumbersClient, TestLogger, uniqueQueue } from './helpers';

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

/** A table holding one table in another, `depth` deep, as bytes (no encoder nests so). */
function nestedTable(depth: number): Buffer {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < depth; i += 1) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(inner.length);
    inner = Buffer.concat([Buffer.from('\x01aF', 'latin1'), length, inner]);
  }
  return inner;
}

/** The raw frames of a reply to `replyTo` whose headers table is `table`. */
function replyFrames(channel: number, replyTo: string, cid: string, table: Buffer, body: Buffer): Buffer {
  const method = Buffer.concat([Buffer.from([0, 60, 0, 40, 0, 0]), shortstr(''), shortstr(replyTo), Buffer.from([0])]);
  const head = Buffer.alloc(14);
  head.writeUInt16BE(60, 0);
  head.writeBigUInt64BE(BigInt(body.length), 4);
  head.writeUInt16BE(0x8000 | 0x2000 | 0x0400, 12); // content-type, headers, correlation-id
  const tableLength = Buffer.alloc(4);
  tableLength.writeUInt32BE(table.length);
  const header = Buffer.concat([head, shortstr('application/json'), tableLength, table, shortstr(cid)]);
  return Buffer.concat([frame(1, channel, method), frame(2, channel, header), frame(3, channel, body)]);
}

describe('a reply whose headers table cannot be decoded', () => {
  it('fails that call only: the client keeps its connection and the next call is answered', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const queue = uniqueQueue('undecodable-reply');
    const conn = await amqp.connect(AMQP_URL);
    const logger = new TestLogger();
    let client: NumbersClient | null = null;
    try {
      // A raw worker: the first request gets the undecodable reply, the others a good one.
      const ch = await conn.createChannel();
      await ch.assertQueue(queue, { durable: true });
      const seen: string[] = [];
      const raw = ch as unknown as { ch: number; connection: { sendBytes(bytes: Buffer): void } };
      await ch.consume(
        queue,
        (msg) => {
          if (msg === null) return;
          const { correlationId, replyTo, type } = msg.properties as { correlationId: string; replyTo: string; type: string };
          seen.push(type);
          if (seen.length === 1) {
            raw.connection.sendBytes(replyFrames(raw.ch, replyTo, correlationId, nestedTable(5000), Buffer.from('{}')));
          } else {
            ch.publish('', replyTo, Buffer.from('{"value":5}'), {
              contentType: 'application/json',
              correlationId,
              headers: { 'rpc-status': 'OK' },
            });
          }
        },
        { noAck: true },
      );
      client = await NumbersClient.connect(undefined, { queue, logger });
      // reserve is not idempotent: a lost connection would fail it UNAVAILABLE, never retried.
      let failure: unknown = null;
      try {
        await client.reserve({ sku: 'ABC-1234', quantity: 1 }, { timeout: 5 });
      } catch (error) {
        failure = error;
      }
      assert.ok(failure instanceof RpcError, `not an RpcError: ${String(failure)}`);
      assert.ok(!(failure instanceof Unavailable), `the connection was lost: ${String(failure)}`);
      assert.deepEqual(await client.add({ a: 2, b: 3 }, { timeout: 5 }), { value: 5 });
      assert.deepEqual(seen, ['reserve', 'add']);
    } finally {
      if (client !== null) await client.close();
      await conn.close();
      await deleteQueue(queue);
    }
  });
});
