// Shared by the tests: the broker (a real one; required when LEVERET_REQUIRE_BROKER=1), a test
// service written by hand as generated code would be, a raw amqplib caller, and a TCP proxy
// whose connections the tests can cut.

import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

import * as amqp from 'amqplib';

import {
  Client,
  FailedPrecondition,
  methodSpec,
  type CallOptions,
  type Logger,
  type RpcErrorOptions,
  type Schema,
  type ServiceSpec,
} from '../src/index';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/%2F';
const REQUIRED = process.env.LEVERET_REQUIRE_BROKER === '1';

let brokerChecked: Promise<boolean> | null = null;

/** Whether the broker is up; throws (failing the test) when it is required and is not. */
export async function brokerUp(): Promise<boolean> {
  brokerChecked ??= amqp.connect(AMQP_URL).then(
    async (conn) => {
      await conn.close();
      return true;
    },
    () => false,
  );
  const up = await brokerChecked;
  if (!up && REQUIRED) throw new Error(`RabbitMQ is not reachable at ${AMQP_URL} (LEVERET_REQUIRE_BROKER=1)`);
  return up;
}

/** A queue name of its own for each test. */
export function uniqueQueue(what: string): string {
  return `leveret-ts-test.${what}.${randomBytes(4).toString('hex')}`;
}

export interface OutOfStockDetails {
  available: number;
}

/** A declared error, as the generator writes one. */
export class OutOfStock extends FailedPrecondition {
  static override readonly errorName = 'OutOfStock';
  static override readonly detailsSchema: Schema | null = {
    type: 'object',
    properties: { available: { type: 'integer', minimum: 0 } },
    required: ['available'],
    additionalProperties: false,
  };
  declare readonly details: OutOfStockDetails;
  constructor(message: string, details: OutOfStockDetails, options?: RpcErrorOptions) {
    super(message, details, options);
  }
}

const object = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const ADD = methodSpec<{ a: number; b: number }, { value: number }>({
  name: 'add',
  request: object({ a: { type: 'number' }, b: { type: 'number' } }),
  response: object({ value: { type: 'number' } }),
  errors: [],
  idempotent: true,
  timeout: 5,
  fingerprint: 'sha256:add-v1',
});

export const RESERVE = methodSpec<{ sku: string; quantity: number; when?: string }, { id: string }>({
  name: 'reserve',
  request: object(
    {
      sku: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{4}$' },
      quantity: { type: 'integer', minimum: 1 },
      when: { type: 'string', format: 'date-time' },
    },
    ['sku', 'quantity'],
  ),
  response: object({ id: { type: 'string', format: 'uuid' } }),
  errors: [OutOfStock],
  idempotent: false,
  timeout: 5,
  fingerprint: 'sha256:reserve-v1',
});

export interface Seen {
  attempt: number;
  metadata: Record<string, string>;
  deadline: number | null;
  caller: string | null;
  traceparent: string | null;
  aborted: boolean;
}

const SEEN_SCHEMA = object({
  attempt: { type: 'integer' },
  metadata: { type: 'object', additionalProperties: { type: 'string' } },
  deadline: { type: ['integer', 'null'] },
  caller: { type: ['string', 'null'] },
  traceparent: { type: ['string', 'null'] },
  aborted: { type: 'boolean' },
});

/** Reports what the worker saw of the call; idempotent, so retried on UNAVAILABLE. */
export const SEEN = methodSpec<{ failUntil?: number }, Seen>({
  name: 'seen',
  request: object({ failUntil: { type: 'integer' } }, []),
  response: SEEN_SCHEMA,
  errors: [],
  idempotent: true,
  timeout: 5,
  fingerprint: 'sha256:seen-v1',
});

/** Fails UNAVAILABLE; not idempotent, so never retried. */
export const FLAKY = methodSpec<Record<string, never>, Seen>({
  name: 'flaky',
  request: object({}),
  response: SEEN_SCHEMA,
  errors: [],
  idempotent: false,
  timeout: 5,
  fingerprint: null,
});

/** Waits until the test releases it (by key). */
export const HOLD = methodSpec<{ key: string }, { released: boolean }>({
  name: 'hold',
  request: object({ key: { type: 'string' } }),
  response: object({ released: { type: 'boolean' } }),
  errors: [],
  idempotent: false,
  timeout: 5,
  fingerprint: null,
});

/** Throws an Error with a secret in its message and stack. */
export const BOOM = methodSpec<{ how: string }, Record<string, never>>({
  name: 'boom',
  request: object({ how: { type: 'string', enum: ['throw', 'nan', 'wrong'] } }),
  response: object({ value: { type: 'number' } }),
  errors: [],
  idempotent: false,
  timeout: 5,
  fingerprint: null,
});

/** A method the worker does not serve. */
export const MISSING = methodSpec<Record<string, never>, Record<string, never>>({
  name: 'missing',
  request: { type: 'object' },
  response: { type: 'object' },
  errors: [],
  idempotent: false,
  timeout: 5,
  fingerprint: null,
});

export const DEFINITION = { leveret: 1, package: 'numbers', service: 'Numbers', types: {}, methods: {} };

export function numbersService(queue: string): ServiceSpec {
  return {
    name: 'Numbers',
    queue,
    fingerprint: 'sha256:numbers-v1',
    methods: { add: ADD, reserve: RESERVE, seen: SEEN, flaky: FLAKY, hold: HOLD, boom: BOOM },
    definition: { ...DEFINITION, queue },
  };
}

/** A client as the generator writes one (its methods public). */
export class NumbersClient extends Client {
  add(request: { a: number; b: number }, options?: CallOptions) {
    return this.call(ADD, request, options);
  }
  reserve(request: { sku: string; quantity: number; when?: string }, options?: CallOptions) {
    return this.call(RESERVE, request, options);
  }
  seen(request: { failUntil?: number }, options?: CallOptions) {
    return this.call(SEEN, request, options);
  }
  flaky(options?: CallOptions) {
    return this.call(FLAKY, {}, options);
  }
  hold(request: { key: string }, options?: CallOptions) {
    return this.call(HOLD, request, options);
  }
  boom(request: { how: string }, options?: CallOptions) {
    return this.call(BOOM, request, options);
  }
  missing(options?: CallOptions) {
    return this.call(MISSING, {}, options);
  }
}

/** A logger that keeps what it is told, and can wait for a line. */
export class TestLogger implements Logger {
  readonly lines: string[] = [];
  private readonly waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];

  private add(args: unknown[]): void {
    const line = args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' ');
    this.lines.push(line);
    for (const waiter of [...this.waiters]) {
      if (waiter.pattern.test(line)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }
  debug = (...args: unknown[]): void => this.add(args);
  info = (...args: unknown[]): void => this.add(args);
  warn = (...args: unknown[]): void => this.add(args);
  error = (...args: unknown[]): void => this.add(args);

  /** The first line matching `pattern`, now or when it comes. */
  waitFor(pattern: RegExp): Promise<string> {
    const found = this.lines.find((line) => pattern.test(line));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}

export interface RawReply {
  status: string | undefined;
  body: Buffer;
  json: unknown;
  properties: amqp.MessageProperties;
}

/** A plain amqplib caller (direct reply-to), to send what a leveret client never would. */
export class RawCaller {
  private readonly pending = new Map<string, (reply: RawReply) => void>();
  private constructor(
    private readonly conn: amqp.ChannelModel,
    private readonly ch: amqp.Channel,
  ) {}

  static async open(): Promise<RawCaller> {
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    const caller = new RawCaller(conn, ch);
    await ch.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        if (msg === null) return;
        const done = caller.pending.get(String(msg.properties.correlationId));
        if (done === undefined) return;
        caller.pending.delete(String(msg.properties.correlationId));
        let json: unknown = undefined;
        try {
          json = JSON.parse(msg.content.toString('utf8'));
        } catch {
          json = undefined;
        }
        done({
          status: (msg.properties.headers ?? {})['rpc-status'] as string | undefined,
          body: msg.content,
          json,
          properties: msg.properties,
        });
      },
      { noAck: true },
    );
    return caller;
  }

  /** Publish `body` as a request; resolves with its reply. */
  call(queue: string, type: string | undefined, body: Buffer | string, options: amqp.Options.Publish = {}): Promise<RawReply> {
    const cid = options.correlationId ?? randomBytes(16).toString('hex');
    const reply = new Promise<RawReply>((resolve) => this.pending.set(cid, resolve));
    this.send(queue, type, body, { correlationId: cid, ...options });
    return reply;
  }

  /** Publish without waiting for anything. */
  send(queue: string, type: string | undefined, body: Buffer | string, options: amqp.Options.Publish = {}): void {
    this.ch.publish('', queue, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), {
      contentType: 'application/json',
      replyTo: 'amq.rabbitmq.reply-to',
      type,
      ...options,
    });
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

/** A TCP proxy to the broker whose connections `cut()` drops, as a network failure would. */
export class Proxy {
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Proxy> {
    const target = new URL(AMQP_URL);
    const host = target.hostname || '127.0.0.1';
    const port = Number(target.port || 5672);
    let proxy: Proxy | null = null;
    const server = net.createServer((client) => {
      const upstream = net.connect(port, host);
      for (const socket of [client, upstream]) {
        proxy!.sockets.add(socket);
        socket.on('close', () => proxy!.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: local } = server.address() as net.AddressInfo;
    const url = new URL(AMQP_URL);
    url.hostname = '127.0.0.1';
    url.port = String(local);
    proxy = new Proxy(server, url.toString());
    return proxy;
  }

  /** Drop every connection through the proxy (new ones are still let through). */
  cut(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Remove a test's queue from the broker. */
export async function deleteQueue(queue: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
  } finally {
    await conn.close();
  }
}
