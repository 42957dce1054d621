// The worker's lifecycle against a real broker: a graceful close() settles what it waited for
// (review 13: the acks of the last calls were lost behind the connection's Close, so another
// worker ran them again).

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as amqp from 'amqplib';

import { Internal, serveService, type Handler } from '../src/index';
import { AMQP_URL, brokerUp, deleteQueue, numbersService, RawCaller, TestLogger, uniqueQueue } from './helpers';

/** `promise`, or a failure after `ms`: what never comes fails the test, not the run. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Handlers whose `hold` calls wait for `release`; every key a handler ran is in `ran`. */
function holding() {
  const ran: string[] = [];
  const started = new Map<string, () => void>();
  const waiters: Array<() => void> = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const unused = () => {
    throw new Internal('not used by these tests');
  };
  const handlers: Record<string, Handler<any, any>> = {
    hold: async ({ key }: { key: string }) => {
      ran.push(key);
      started.get(key)?.();
      for (const wake of waiters.splice(0)) wake();
      if (key !== 'sentinel') await released;
      return { released: true };
    },
    add: unused,
    reserve: unused,
    seen: unused,
    flaky: unused,
    boom: unused,
  };
  /** Resolves once `n` calls have started. */
  const startedCount = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (ran.length >= n ? resolve() : waiters.push(check));
      check();
    });
  return { ran, handlers, release, startedCount };
}

describe('worker close()', () => {
  it('acks the calls it waited for before the connection goes: none is run again', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const queue = uniqueQueue('close-acks');
    const first = holding();
    const worker = await serveService(numbersService(queue), first.handlers, {
      logger: new TestLogger(),
      concurrency: 3,
      prefetch: 3,
      grace: 10,
    });
    const raw = await RawCaller.open();
    const conn = await amqp.connect(AMQP_URL);
    let second: Awaited<ReturnType<typeof serveService>> | null = null;
    try {
      const replies = ['a', 'b', 'c'].map((key) =>
        raw.call(queue, 'hold', JSON.stringify({ key }), { correlationId: `close-${key}` }),
      );
      await within(5000, first.startedCount(3), 'the three calls starting');
      const closing = worker.close();
      first.release();
      await within(15000, closing, 'close()');
      const statuses = await within(5000, Promise.all(replies), 'the replies');
      assert.deepEqual(
        statuses.map((reply) => reply.status),
        ['OK', 'OK', 'OK'],
      );
      // The worker's connection is gone: an unacked call would be back in the queue by now.
      const ch = await conn.createChannel();
      const after = await ch.checkQueue(queue);
      assert.equal(after.messageCount, 0, 'calls close() waited for went back to the queue');
      assert.equal(after.consumerCount, 0);

      // A worker after it gets the sentinel first, and nothing it ran before.
      const next = holding();
      second = await serveService(numbersService(queue), next.handlers, { logger: new TestLogger(), grace: 1 });
      const sentinel = await within(
        5000,
        raw.call(queue, 'hold', JSON.stringify({ key: 'sentinel' }), { correlationId: 'close-sentinel' }),
        'the sentinel',
      );
      assert.equal(sentinel.status, 'OK');
      assert.deepEqual(next.ran, ['sentinel']);
    } finally {
      first.release();
      if (second !== null) await second.close();
      await raw.close();
      await conn.close();
      await deleteQueue(queue);
    }
  });
});
