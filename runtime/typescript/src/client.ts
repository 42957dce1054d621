// The client side of docs/wire-protocol.md: one connection and one confirm channel carry any
// number of calls; replies come by direct reply-to, consumed no-ack on the publishing channel
// before the first request, and are matched to calls by correlation id.

import { randomFillSync } from 'node:crypto';

import type * as amqp from 'amqplib';

import { Backoff, DeadlineTimer, type Timed } from './backoff';
import { connectAny, loginOf, resolveUrls } from './connection';
import { defaultLogger, DriftLog, type Logger } from './drift';
import {
  Cancelled,
  ConfigurationError,
  DeadlineExceeded,
  errorClassFor,
  Internal,
  InvalidArgument,
  LeveretError,
  ResourceExhausted,
  RpcError,
  Unavailable,
} from './errors';
import { publishDirect } from './publish';
import { RetryPolicy, type RetryOptions } from './retry';
import type { MethodSpec, ServiceSpec } from './spec';
import { statusFromWire, type StatusName } from './status';
import { BodyError, check, findNonFinite, findUnsendable, readBody, summary } from './validate';
import {
  checkMetadata,
  checkTraceHeaders,
  CONTENT_TYPE,
  decodeError,
  DIRECT_REPLY_TO,
  HEADER_ATTEMPT,
  HEADER_DEADLINE,
  HEADER_FINGERPRINT,
  HEADER_STATUS,
  MAX_MESSAGE_SIZE,
  MAX_TIMEOUT,
  METADATA_PREFIX,
  readFingerprint,
} from './wire';

export interface ConnectOptions {
  /** The request queue; default: the generated client's service queue. */
  queue?: string;
  /** The connection's name, shown by the broker's management tools. */
  name?: string;
  /** How calls are retried (`{ maxAttempts: 1 }`: never). */
  retry?: RetryOptions;
  /** The largest request or reply body, in bytes (default 4 MiB, as the worker's). */
  maxMessageSize?: number;
  /**
   * The broker user the service's workers log in as: a reply whose user_id is not it (or has
   * none) is dropped, and never settles a call (docs/security.md, reply authenticity).
   */
  serverUser?: string;
  /** Where warnings go (contract drift, reconnects); default: warnings and errors to the console. */
  logger?: Logger;
}

export interface CallOptions {
  /** Seconds; default the method's timeout; null: no deadline. */
  timeout?: number | null;
  /** Per-call metadata, sent as `leveret-md-<key>` headers (checked before sending). */
  metadata?: Record<string, string>;
  /** W3C trace headers to pass on (`traceparent`, `tracestate`, `baggage`). */
  trace?: Record<string, string>;
  /** Aborting it fails the call with Cancelled (its reply, if any, is dropped). */
  signal?: AbortSignal;
  /**
   * Let the request wait in its queue for a worker (until the deadline). By default a queue that
   * exists with no worker consuming it fails the call at once with Unavailable (idempotent
   * methods retry that within their deadline, as Python's wait_for_ready=False).
   */
  waitForReady?: boolean;
}

/** How long a queue seen with a consumer is trusted before it is checked again (beside a call). */
const CHECK_FRESH_MS = 1000;

interface Reply {
  status: StatusName;
  body: Buffer;
  fingerprint: string | null;
}

interface Pending {
  method: string;
  settle(reply: Reply | null, error: RpcError | null): void;
}

/** What one attempt sends. */
interface Outgoing {
  queue: string;
  method: string;
  body: Buffer;
  deadline: number | null;
  attempt: number;
  headers: Record<string, unknown>;
  signal?: AbortSignal;
}

/** The connection of one client: reconnects with backoff, fails calls in flight when lost. */
class Transport {
  private model: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;
  private readonly pending = new Map<string, Pending>();
  /** The deadlines of the calls waiting for a reply, on one timer. */
  private readonly deadlines = new DeadlineTimer();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnects = 0;
  private user = 'guest';
  private readonly backoff = new Backoff(0.1, 2, 5, 0.2);
  /** Queues seen with a consumer, and when. */
  private readonly served = new Map<string, number>();
  private readonly checks = new Map<string, Promise<number | null | undefined>>();
  private checkChannel: Promise<amqp.Channel> | null = null;

  /** Replies dropped because they did not come from `serverUser`. */
  foreignReplies = 0;
  private readonly foreignSources = new Set<string>();

  constructor(
    private readonly urls: readonly string[],
    private readonly name: string | undefined,
    readonly logger: Logger,
    private readonly serverUser: string | undefined,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  async open(): Promise<void> {
    const { connection, url } = await connectAny(this.urls, this.name);
    if (this.closed) {
      await connection.close().catch(() => undefined);
      return;
    }
    let dead = false; // the connection closed while being set up: its 'close' came before ours was attached
    connection.once('close', () => (dead = true));
    let channel: amqp.ConfirmChannel;
    try {
      channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined); // 'close' follows, handled below
      channel.once('close', () => (dead = true));
      await channel.consume(DIRECT_REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
      if (dead) throw new Error('the connection closed while it was being set up');
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw new Unavailable(`cannot set up the reply consumer: ${(error as Error).message}`, null, {
        origin: 'local',
        cause: error,
      });
    }
    this.user = loginOf(url);
    this.model = connection;
    this.channel = channel;
    this.reconnects = 0;
    connection.on('close', () => this.lost(connection, 'the connection to RabbitMQ was lost'));
    channel.on('close', () => this.lost(connection, 'the channel to RabbitMQ was closed'));
    channel.on('return', (msg: amqp.Message) => this.onReturn(msg));
  }

  /** The connection or its channel is gone: fail every call in flight at once, reconnect. */
  private lost(connection: amqp.ChannelModel, why: string): void {
    if (this.model !== connection) return; // already handled (channel close, then connection close)
    this.model = null;
    this.channel = null;
    this.checkChannel = null;
    this.served.clear();
    connection.close().catch(() => undefined);
    const calls = [...this.pending.entries()];
    this.pending.clear();
    for (const [, call] of calls) {
      call.settle(null, new Unavailable(`${call.method}: ${why} with the call in flight`, null, { origin: 'lost' }));
    }
    if (!this.closed) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== null || this.closed) return;
    const delay = this.backoff.delayMs(this.reconnects++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open().catch((error: unknown) => {
        this.logger.warn(`leveret.client: reconnect failed: ${(error as Error).message}`);
        this.scheduleReconnect();
      });
    }, delay);
  }

  private onReply(msg: amqp.ConsumeMessage | null): void {
    if (msg === null) return; // the broker cancelled the consumer: the channel closes next
    if (this.serverUser !== undefined && msg.properties.userId !== this.serverUser) {
      // Not from the service's login (the broker checks user_id): never settles a call.
      this.foreignReplies += 1;
      const source = String(msg.properties.userId ?? '(none)');
      if (!this.foreignSources.has(source) && this.foreignSources.size < 1024) {
        this.foreignSources.add(source);
        this.logger.warn(
          `leveret.client: dropped a reply from user ${source}, not the server user ${this.serverUser} (and will drop others from it)`,
        );
      }
      return;
    }
    const cid = msg.properties.correlationId as string | undefined;
    const call = cid === undefined ? undefined : this.pending.get(cid);
    if (call === undefined || cid === undefined) {
      // A late reply (after the deadline), or one for a call given up: dropped.
      this.logger.debug(`leveret.client: dropped a reply matching no waiting call (cid=${String(cid)})`);
      return;
    }
    this.pending.delete(cid);
    const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
    call.settle(
      { status: statusFromWire(headers[HEADER_STATUS]), body: msg.content, fingerprint: readFingerprint(headers) },
      null,
    );
  }

  private onReturn(msg: amqp.Message): void {
    const cid = msg.properties.correlationId as string | undefined;
    const call = cid === undefined ? undefined : this.pending.get(cid);
    if (call === undefined || cid === undefined) return;
    this.pending.delete(cid);
    const fields = msg.fields as unknown as { routingKey: string; replyText?: string };
    call.settle(
      null,
      new Unavailable(
        `no queue '${fields.routingKey}' to take '${call.method}': is the service running? ` +
          `(broker: ${fields.replyText ?? 'NO_ROUTE'})`,
        null,
        { origin: 'no-route' },
      ),
    );
  }

  /**
   * Why a request to `queue` must not be sent, or null: its queue is checked for a worker first
   * (docs/wire-protocol.md §5, "No worker consuming the queue"), as the Python client does. A
   * queue seen served is not checked again for CHECK_FRESH_MS; after that the call goes out at
   * once and the check runs beside it. A 404 is no route; any other refusal sends the request.
   */
  async readiness(queue: string, method: string): Promise<RpcError | null> {
    if (this.seenServed(queue)) return null;
    const count = await this.consumers(queue);
    if (count === null) {
      return new Unavailable(
        `no queue '${queue}' to take '${method}': is the service running? (broker: NOT_FOUND)`,
        null,
        { origin: 'no-route' },
      );
    }
    if (count === 0) {
      return new Unavailable(
        `no worker is consuming queue '${queue}' to take '${method}': is the service running? ` +
          '(pass waitForReady: true to let calls wait for a worker)',
        null,
        { origin: 'no-consumer' },
      );
    }
    return null;
  }

  /**
   * Whether `queue` was seen served, so a call goes out at once (readiness says null) without
   * waiting on a promise; one seen more than CHECK_FRESH_MS ago is checked again beside the call.
   */
  seenServed(queue: string): boolean {
    const seen = this.served.get(queue);
    if (seen === undefined) return false;
    if (Date.now() - seen > CHECK_FRESH_MS) void this.consumers(queue);
    return true;
  }

  /** Forget that `queue` was served: the next call checks first (a call timed out). */
  unserved(queue: string): void {
    this.served.delete(queue);
  }

  /** The consumer count of `queue`; null: no such queue; undefined: could not tell. */
  private consumers(queue: string): Promise<number | null | undefined> {
    let check = this.checks.get(queue);
    if (check === undefined) {
      check = this.countConsumers(queue).finally(() => this.checks.delete(queue));
      this.checks.set(queue, check);
    }
    return check;
  }

  private async countConsumers(queue: string): Promise<number | null | undefined> {
    const model = this.model;
    if (model === null) return undefined;
    try {
      // A channel of its own: a passive declare of a missing queue closes its channel (404),
      // which must not be the one requests and replies travel on.
      this.checkChannel ??= model.createChannel().then((channel) => {
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (this.checkChannel === opened) this.checkChannel = null;
        });
        return channel;
      });
      const opened = this.checkChannel;
      const channel = await opened;
      const ok = await channel.checkQueue(queue);
      if (ok.consumerCount > 0) this.served.set(queue, Date.now());
      else this.served.delete(queue);
      return ok.consumerCount;
    } catch (error) {
      this.checkChannel = null;
      this.served.delete(queue);
      return (error as { code?: number }).code === 404 ? null : undefined;
    }
  }

  /** Publish one attempt and wait for its reply, its deadline, or a failure. */
  send(out: Outgoing): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const channel = this.channel;
      if (this.closed) return reject(new Cancelled('the client was closed', null, { origin: 'local' }));
      if (channel === null) {
        return reject(
          new Unavailable(`${out.method}: not connected to RabbitMQ (reconnecting)`, null, { origin: 'local' }),
        );
      }
      const cid = correlationId();
      let timed: Timed | null = null;
      const onAbort = (): void => {
        if (this.pending.delete(cid)) {
          finish(null, new Cancelled(`${out.method}: the call was cancelled`, null, { origin: 'local' }));
        }
      };
      const finish = (reply: Reply | null, error: RpcError | null): void => {
        if (timed !== null) this.deadlines.remove(timed);
        if (out.signal) unwatch(out.signal, onAbort);
        if (error !== null) reject(error);
        else resolve(reply!);
      };
      if (out.signal?.aborted) {
        return reject(new Cancelled(`${out.method}: the call was cancelled`, null, { origin: 'local' }));
      }
      const headers: Record<string, unknown> = { ...out.headers, [HEADER_ATTEMPT]: out.attempt + 1 };
      let expiration: string | undefined;
      if (out.deadline !== null) {
        const left = out.deadline - Date.now();
        if (left <= 0) {
          return reject(new DeadlineExceeded(`${out.method}: no reply before the deadline`, null, { origin: 'local' }));
        }
        expiration = String(Math.max(1, Math.ceil(left)));
        headers[HEADER_DEADLINE] = { '!': 'long', value: Math.floor(out.deadline) };
        timed = this.deadlines.add(out.deadline, () => {
          if (this.pending.delete(cid)) {
            finish(null, new DeadlineExceeded(`${out.method}: no reply before the deadline`, null, { origin: 'server' }));
          }
        });
      }
      this.pending.set(cid, { method: out.method, settle: finish });
      if (out.signal) watch(out.signal, onAbort);
      const properties = {
        contentType: CONTENT_TYPE,
        correlationId: cid,
        replyTo: DIRECT_REPLY_TO,
        type: out.method,
        expiration,
        headers,
        userId: this.user,
      };
      const confirmed = (error: unknown): void => {
        if (error === null || error === undefined) return; // confirmed: wait for the reply
        const call = this.pending.get(cid);
        if (call === undefined) return;
        this.pending.delete(cid);
        const nacked = /nack/i.test(String((error as Error)?.message ?? error));
        call.settle(
          null,
          nacked
            ? new Unavailable(`${out.method}: the broker refused the request (publisher nack)`, null, {
                origin: 'nack',
              })
            : new Unavailable(`${out.method}: the channel closed before the broker confirmed the request`, null, {
                origin: 'lost',
              }),
        );
      };
      try {
        if (!publishDirect(channel, out.queue, out.body, properties, confirmed)) {
          channel.publish('', out.queue, out.body, { ...properties, mandatory: true }, confirmed);
        }
      } catch (error) {
        // amqplib throws when the channel is closing: nothing went out.
        if (this.pending.delete(cid)) {
          finish(
            null,
            new Unavailable(`${out.method}: cannot publish: ${(error as Error).message}`, null, {
              origin: 'local',
              cause: error,
            }),
          );
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.deadlines.clear();
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.settle(null, new Cancelled('the client was closed', null, { origin: 'local' }));
    const model = this.model;
    this.model = null;
    this.channel = null;
    if (model !== null) await model.close().catch(() => undefined);
  }
}

/**
 * A leveret client. Generated clients extend it (`class InventoryClient extends Client`, with
 * `static readonly service = SERVICE`) and call `this.call(METHOD, request, options)`.
 */
export class Client {
  // ES private names: a generated subclass's methods (any name a definition gives) cannot
  // collide with them.
  readonly #queue: string;
  readonly #transport: Transport;
  readonly #retry: RetryPolicy;
  readonly #maxMessageSize: number;
  readonly #drifts: DriftLog;
  readonly #serviceName: string;

  /** Not for direct use: `await SomeClient.connect(url, options)`. */
  constructor(connection: unknown) {
    const setup = connection as ClientSetup;
    if (!(setup instanceof ClientSetup)) {
      throw new ConfigurationError('create clients with `await Client.connect(url, options)`');
    }
    this.#transport = setup.transport;
    this.#queue = setup.queue;
    this.#serviceName = setup.serviceName;
    this.#retry = new RetryPolicy(setup.options.retry);
    this.#maxMessageSize = setup.options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    this.#drifts = new DriftLog('client', this.#transport.logger);
  }

  /**
   * Connect to the broker (`url`, else AMQP_URL, else amqp://guest:guest@127.0.0.1:5672/%2F;
   * several addresses separated by commas are tried in order). Rejects with Unavailable when no
   * broker can be reached.
   */
  static async connect<C extends Client>(
    this: new (connection: any) => C,
    url?: string,
    options: ConnectOptions = {},
  ): Promise<C> {
    const service = (this as unknown as { service?: ServiceSpec }).service;
    const queue = options.queue ?? service?.queue;
    if (!queue) throw new ConfigurationError('no request queue: pass options.queue (or use a generated client)');
    const transport = new Transport(resolveUrls(url), options.name, options.logger ?? defaultLogger, options.serverUser);
    await transport.open();
    return new this(new ClientSetup(transport, queue, service?.name ?? queue, options));
  }

  /** Call `method` with `request`; resolves to the validated response, or rejects with an RpcError. */
  protected async call<Req, Res>(method: MethodSpec<Req, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    const timeout = options.timeout === undefined ? method.timeout : options.timeout;
    if (timeout !== null && (typeof timeout !== 'number' || !(timeout > 0) || timeout > MAX_TIMEOUT)) {
      throw new InvalidArgument(
        `${method.name}: the timeout is seconds, more than 0 and at most ${MAX_TIMEOUT}, not ${String(timeout)}`,
        null,
        { origin: 'local' },
      );
    }
    const body = this.#encode(method, request);
    const headers: Record<string, unknown> = {};
    if (options.metadata !== undefined) {
      let metadata: Record<string, string>;
      try {
        metadata = checkMetadata(options.metadata);
      } catch (error) {
        throw new InvalidArgument((error as Error).message, null, { origin: 'local' });
      }
      for (const [key, value] of Object.entries(metadata)) headers[METADATA_PREFIX + key] = value;
    }
    if (options.trace !== undefined) {
      try {
        Object.assign(headers, checkTraceHeaders(options.trace));
      } catch (error) {
        throw new InvalidArgument((error as Error).message, null, { origin: 'local' });
      }
    }
    if (method.fingerprint) headers[HEADER_FINGERPRINT] = method.fingerprint;
    const deadline = timeout === null ? null : Date.now() + timeout * 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!options.waitForReady && !this.#transport.seenServed(this.#queue)) {
          const refused = await this.#transport.readiness(this.#queue, method.name);
          if (refused !== null) throw refused;
        }
        const reply = await this.#transport.send({
          queue: this.#queue,
          method: method.name,
          body,
          deadline,
          attempt,
          headers,
          signal: options.signal,
        });
        const result = this.#decode(method, reply);
        this.#retry.recordSuccess();
        return result;
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        if (error instanceof DeadlineExceeded) this.#transport.unserved(this.#queue);
        const delay = this.#retry.nextDelay(error, method.idempotent, attempt, deadline);
        if (delay === null || options.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** The request body, or InvalidArgument (origin local): nothing is sent. */
  #encode<Req>(method: MethodSpec<Req, unknown>, request: Req): Buffer {
    const unsendable = findUnsendable(request);
    if (unsendable !== null) {
      throw new InvalidArgument(`${method.name}: request failed validation: ${summary([unsendable])}`, [unsendable], {
        origin: 'local',
      });
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(request);
    } catch (error) {
      const detail = { loc: [], msg: `cannot be sent as JSON: ${(error as Error).message}`, type: 'json_invalid' };
      throw new InvalidArgument(`${method.name}: request failed validation: ${summary([detail])}`, [detail], {
        origin: 'local',
      });
    }
    // Validate what goes on the wire (a Date as its string, undefined properties left out): a
    // request of plain JSON data is that already, anything else is read back from its text.
    const sent: unknown = text === undefined ? undefined : isPlainJson(request) ? request : JSON.parse(text);
    const details = check(method.request, sent);
    if (details !== null) {
      throw new InvalidArgument(`${method.name}: request failed validation: ${summary(details)}`, details, {
        origin: 'local',
      });
    }
    const body = Buffer.from(text!, 'utf8');
    if (body.length > this.#maxMessageSize) {
      throw new ResourceExhausted(
        `${method.name}: the request is ${body.length} bytes, more than max_message_size (${this.#maxMessageSize} bytes); nothing was sent`,
        null,
        { origin: 'local' },
      );
    }
    return body;
  }

  /** The response of an OK reply, or the error the reply stands for. */
  #decode<Res>(method: MethodSpec<unknown, Res>, reply: Reply): Res {
    if (reply.fingerprint !== null && method.fingerprint && reply.fingerprint !== method.fingerprint) {
      this.#drifts.report(
        { service: this.#serviceName, method: method.name, client: method.fingerprint, server: reply.fingerprint },
        `queue ${this.#queue}`,
        reply.status === 'FAILED_PRECONDITION',
      );
    }
    if (reply.body.length > this.#maxMessageSize) {
      const size = reply.body.length;
      throw new ResourceExhausted(
        `${method.name}: the reply is ${size} bytes, ${size - this.#maxMessageSize} bytes over the client's ` +
          `max_message_size (${this.#maxMessageSize} bytes); it was dropped unread`,
        null,
        { origin: 'server' },
      );
    }
    if (reply.status === 'OK') {
      try {
        return readBody(reply.body, method.response) as Res;
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        throw new Internal(`${method.name}: response failed validation: ${summary(error.details)}`, error.details, {
          origin: 'server',
        });
      }
    }
    const payload = decodeError(reply.status, reply.body);
    const declared = payload.error === null ? undefined : method.errors.find((e) => e.errorName === payload.error);
    if (declared !== undefined) {
      const schema = declared.detailsSchema;
      if (schema === undefined || schema === null) {
        // An error without details (as Python's, whose details model is None): none are kept.
        return throwIt(new declared(payload.message, null, { origin: 'server' }));
      }
      // Details that do not fit (a newer server's, or NaN on the wire) keep the plain status class.
      if (findNonFinite(payload.details) === null && check(schema, payload.details) === null) {
        return throwIt(new declared(payload.message, payload.details, { origin: 'server' }));
      }
    }
    const code = payload.code === 'OK' ? 'UNKNOWN' : payload.code;
    const cls = errorClassFor(code);
    const error = new cls(payload.message, payload.details, { origin: 'server' });
    error.remoteError = payload.error;
    throw error;
  }

  /** Close the connection; calls still waiting fail with Cancelled. */
  async close(): Promise<void> {
    await this.#transport.close();
  }
}

// One 'abort' listener per signal, however many calls share it (a listener per call would make
// Node warn past ten calls in flight on one signal).
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

function watch(signal: AbortSignal, onAbort: () => void): void {
  let set = watchers.get(signal);
  if (set === undefined) {
    const calls = new Set<() => void>();
    set = calls;
    watchers.set(signal, calls);
    signal.addEventListener(
      'abort',
      () => {
        watchers.delete(signal);
        for (const call of calls) call();
      },
      { once: true },
    );
  }
  set.add(onAbort);
}

function unwatch(signal: AbortSignal, onAbort: () => void): void {
  watchers.get(signal)?.delete(onAbort);
}

/**
 * Whether `value` reads back from its JSON text as itself (to the validator): only strings,
 * finite numbers, booleans, null, dense arrays and objects of Object's (or no) prototype whose
 * own properties are all enumerable and none undefined. Called after findUnsendable (no lone
 * surrogates, NaN or bigints).
 */
function isPlainJson(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
        }
        return Object.getOwnPropertyNames(value).length === value.length + 1; // + 'length'
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const keys = Object.keys(value);
      if (Object.getOwnPropertyNames(value).length !== keys.length) return false;
      for (const key of keys) {
        if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function throwIt(error: LeveretError): never {
  throw error;
}

// Correlation ids are 16 bytes of the OS's CSPRNG as 32 hex digits (unguessable: security.md),
// taken from a pool refilled 256 ids at a time: one randomBytes(16) per call was 5 % of the
// client's CPU at 64 calls in flight (docs/performance.md, issue 13).
const ID_BYTES = 16;
const idPool = Buffer.alloc(ID_BYTES * 256);
let idOffset = idPool.length;

function correlationId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/** What `Client.connect` hands the constructor (generated subclasses pass it through). */
class ClientSetup {
  constructor(
    readonly transport: Transport,
    readonly queue: string,
    readonly serviceName: string,
    readonly options: ConnectOptions,
  ) {}
}
