// A worker whose connection keeps being lost right after it is made backs off (review 13: it reset
// its backoff on every successful open, so a connection lost at once, again and again, was
// reopened ~10 times a second), and says why the connection was lost.

import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, it } from 'node:test';

import * as amqp from 'amqplib';

import { Internal, serveService, type Handler } from '../src/index';
import { AMQP_URL, brokerUp, deleteQueue, numbersService, TestLogger, uniqueQueue } from './helpers';

/** A TCP proxy to the broker that tells when a connection comes, and whose `cut()` drops them. */
class WatchedProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly arrivals: Array<(at: number) => void> = [];
  private readonly arrived: number[] = [];
  private constructor(private readonly server: net.Server) {}
  url = '';

  static async start(): Promise<WatchedProxy> {
    const target = new URL(AMQP_URL);
    const server = net.createServer();
    const proxy = new WatchedProxy(server);
    server.on('connection', (client) => {
      const upstream = net.connect(Number(target.port || 5672), target.hostname || '127.0.0.1');
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      const now = Date.now();
      const waiter = proxy.arrivals.shift();
      if (waiter) waiter(now);
      else proxy.arrived.push(now);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(AMQP_URL);
    url.hostname = '127.0.0.1';
    url.port = String((server.address() as net.AddressInfo).port);
    proxy.url = url.toString();
    return proxy;
  }

  /** When the next connection comes (or came, since the last asked for). */
  nextConnection(): Promise<number> {
    const early = this.arrived.shift();
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  forget(): void {
    this.arrived.length = 0;
  }

  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** `promise`, or a failure after `ms`: what never comes fails the test, not the run. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves once `queue` has a consumer; fails after `ms`. */
async function consumed(ch: amqp.Channel, queue: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await ch.checkQueue(queue)).consumerCount === 0) {
    if (Date.now() > deadline) throw new Error(`no consumer on ${queue} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const unused = () => {
  throw new Internal('not used by these tests');
};

describe('worker reconnect', () => {
  it('backs off when each new connection is lost at once, and logs why it was lost', async (t) => {
    if (!(await brokerUp())) return t.skip('no broker');
    const proxy = await WatchedProxy.start();
    const queue = uniqueQueue('reconnect-backoff');
    const logger = new TestLogger();
    const handlers: Record<string, Handler<any, any>> = {
      add: ({ a, b }: { a: number; b: number }) => ({ value: a + b }),
      reserve: unused,
      seen: unused,
      flaky: unused,
      hold: unused,
      boom: unused,
    };
    const worker = await serveService(numbersService(queue), handlers, { url: proxy.url, logger, grace: 1 });
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      // Four losses, each as soon as the worker consumes again: the backoff (0.1 s doubling,
      // +-20 %) must grow, 80-120 ms after the first, at least 640 ms after the fourth.
      const gaps: number[] = [];
      for (let loss = 0; loss < 4; loss += 1) {
        await consumed(ch, queue, 10000);
        proxy.forget();
        const cut = Date.now();
        proxy.cut();
        gaps.push((await within(10000, proxy.nextConnection(), `reconnect ${loss + 1}`)) - cut);
      }
      assert.ok(gaps[3]! >= 600, `reconnected ${gaps.join(', ')} ms after each loss`);
      assert.ok(gaps[3]! > gaps[0]!, `reconnected ${gaps.join(', ')} ms after each loss`);
      const lost = logger.lines.filter((line) => /lost the connection serving/.test(line));
      assert.ok(lost.length >= 4, lost.join('\n'));
      // Why: amqplib's error for a socket gone without a Close ('Unexpected close').
      assert.match(lost[0]!, /lost the connection serving '[^']+' \(.+\); reconnecting in \d+ ms/, lost[0]);
      assert.doesNotMatch(lost[0]!, /no reason given/);
    } finally {
      await conn.close();
      await worker.close();
      await deleteQueue(queue);
      await proxy.stop();
    }
  });
});
