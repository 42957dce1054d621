// The server side of docs/wire-protocol.md: declare the queue, consume with manual acks, apply
// the checks of §3 in order, run handlers (at most `concurrency` at once), publish the reply
// and only then ack. Malformed messages cost the worker that message only.

import type * as amqp from 'amqplib';

import { undecodableReason } from './amqpcodec';
import { at, Backoff, sleep } from './backoff';
import { connectAny, loginOf, resolveUrls } from './connection';
import type { CallContext } from './context';
import { defaultLogger, DriftLog, type ContractDrift, type Logger } from './drift';
import {
  ConfigurationError,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  ResourceExhausted,
  RpcError,
  Unauthenticated,
  Unavailable,
  Unimplemented,
} from './errors';
import { methodSpec, type MethodSpec, type Schema, type ServiceSpec } from './spec';
import type { StatusName } from './status';
import { BodyError, check, findNonFinite, readBody, summary } from './validate';
import { VERSION } from './version';
import {
  CONTENT_TYPE,
  DESCRIBE_METHOD,
  encodeError,
  HEADER_FINGERPRINT,
  HEADER_STATUS,
  MAX_MESSAGE_SIZE,
  metadataError,
  pyRepr,
  readAttempt,
  readDeadline,
  readFingerprint,
  readMetadata,
  readTraceHeaders,
} from './wire';

export type Handler<Req, Res> = (request: Req, context: CallContext) => Res | Promise<Res>;

/** What the `authorize` hook knows of a call: its context, before any handler runs. */
export type AuthorizeContext = Omit<CallContext, 'signal' | 'timeRemaining'>;

/**
 * Decides whether `context.caller` may call `method`: return to allow, throw to refuse (a
 * `PermissionDenied` answers PERMISSION_DENIED, any other RpcError its status, anything else
 * INTERNAL, logged and never sent). Asked about `leveret.describe` too (DESCRIBE_SPEC).
 */
export type Authorize = (method: MethodSpec<any, any>, context: AuthorizeContext) => void | Promise<void>;

/**
 * The method the `authorize` hook is asked about for a `leveret.describe` request: the definition
 * tells a caller more than any validation error the hook keeps from a refused one.
 */
export const DESCRIBE_SPEC: MethodSpec<Record<string, never>, unknown> = methodSpec({
  name: DESCRIBE_METHOD,
  request: { type: 'object' },
  response: { type: 'object' },
  errors: [],
  idempotent: true,
  timeout: null,
  fingerprint: null,
});

export interface ServeOptions {
  /** Broker URL(s), comma-separated; default AMQP_URL, else amqp://guest:guest@127.0.0.1:5672/%2F. */
  url?: string;
  /** The request queue; default the service's. */
  queue?: string;
  /** Deliveries the broker hands this worker before acks (per consumer); default `concurrency`. */
  prefetch?: number;
  /** Handlers running at once; default 64. */
  concurrency?: number;
  /** Answer `leveret.describe` (default true, when the service carries its definition). */
  reflection?: boolean;
  /** Arguments of the queue declare, e.g. `{ 'x-queue-type': 'quorum' }`; all workers must agree. */
  queueArguments?: Record<string, unknown>;
  /** `classic` (default) or `quorum`: a shorthand for the `x-queue-type` argument. */
  queueType?: 'classic' | 'quorum';
  /** A caller generated from another contract: served with a warning, or refused FAILED_PRECONDITION. */
  onDrift?: 'warn' | 'reject';
  /**
   * Told of each call refused across contracts (`onDrift: 'reject'`), which runs no handler: to
   * count it. What it throws is logged and changes nothing on the wire.
   */
  driftRefused?: (drift: ContractDrift) => void;
  /**
   * Asked about every request once its method is known, after its metadata is checked and before
   * its size, contract (drift) or body: a refused caller hears of none of them (its reply carries
   * the worker's rpc-fingerprint, as any reply of the method), and its drift is neither logged nor
   * remembered. Keep it fast: it runs before every call.
   */
  authorize?: Authorize;
  /** Refuse requests without a user_id (UNAUTHENTICATED). */
  requireCaller?: boolean;
  /** The largest request or reply body, in bytes (default 4 MiB). */
  maxMessageSize?: number;
  /** Seconds close() waits for handlers in progress (default 10). */
  grace?: number;
  /** The connection's name, shown by the broker's management tools. */
  name?: string;
  /** Log one line per call that ran a handler (default true; INFO for OK, WARNING for errors). */
  logCalls?: boolean;
  /** Where the worker logs (warnings, handler failures with their stack); default: warnings and errors to the console. */
  logger?: Logger;
}

export interface Worker {
  readonly queue: string;
  /** Stop consuming, return unstarted deliveries, let handlers in progress finish, disconnect. */
  close(): Promise<void>;
}

/** What to do with a delivery: publish `reply` (if any), then ack or reject without requeue. */
interface Outcome {
  reply: { status: StatusName; body: Buffer; fingerprint: string | null } | null;
  ack: boolean;
}

interface Delivery {
  msg: amqp.ConsumeMessage;
  generation: number;
}

/** A connection up this long (ms) before it is lost was a good one: the backoff starts over. */
const STABLE_MS = 5000;

function errorOutcome(error: RpcError, ack: boolean, fingerprint: string | null): Outcome {
  const body = encodeError({ code: error.status, message: error.message, error: error.errorName, details: error.details });
  return { reply: { status: error.status, body, fingerprint }, ack };
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === null) return true;
  return contentType.split(';')[0]!.trim().toLowerCase() === CONTENT_TYPE;
}

class WorkerImpl implements Worker {
  readonly queue: string;
  private readonly urls: string[];
  private readonly concurrency: number;
  private readonly prefetch: number;
  private readonly maxMessageSize: number;
  private readonly logger: Logger;
  private readonly drifts: DriftLog;
  private readonly description: Buffer | null;
  private readonly queueArguments: Record<string, unknown> | undefined;
  private readonly declaring = new Map<string, string[]>();

  private model: amqp.ChannelModel | null = null;
  private channel: amqp.ConfirmChannel | null = null;
  private consumerTag: string | null = null;
  private generation = 0;
  private user = 'guest';
  private running = 0;
  private readonly waiting: Delivery[] = [];
  private readonly idle = new Set<() => void>();
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnects = 0;
  /** When the connection served now was made (epoch ms). */
  private openedAt = 0;
  /** What amqplib last reported on the connection served now: logged when it is lost. */
  private lastError: Error | null = null;
  private readonly backoff = new Backoff(0.1, 2, 5, 0.2);
  /** The signals of the handlers running, aborted when close() gives up on them. */
  private readonly runningCalls = new Set<AbortController>();

  constructor(
    private readonly service: ServiceSpec,
    private readonly handlers: Record<string, Handler<any, any>>,
    private readonly options: ServeOptions,
  ) {
    this.queue = options.queue ?? service.queue;
    this.urls = resolveUrls(options.url);
    this.concurrency = options.concurrency ?? 64;
    this.prefetch = options.prefetch ?? this.concurrency;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new ConfigurationError(`concurrency is a positive integer, not ${String(options.concurrency)}`);
    }
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0 || this.prefetch > 65535) {
      throw new ConfigurationError(`prefetch is an integer from 0 to 65535, not ${String(options.prefetch)}`);
    }
    if (options.onDrift !== undefined && options.onDrift !== 'warn' && options.onDrift !== 'reject') {
      throw new ConfigurationError(`onDrift is 'warn' or 'reject', not ${String(options.onDrift)}`);
    }
    this.maxMessageSize = options.maxMessageSize ?? MAX_MESSAGE_SIZE;
    this.logger = options.logger ?? defaultLogger;
    // The memory of the pairs warned about is the process's (SERVER_DRIFTS): several workers, or
    // one after another, warn once per pair.
    this.drifts = new DriftLog('server', this.logger);
    const args = { ...(options.queueArguments ?? {}) };
    if (options.queueType === 'quorum') args['x-queue-type'] = 'quorum';
    this.queueArguments = Object.keys(args).length > 0 ? args : undefined;
    for (const [name, method] of Object.entries(service.methods)) {
      if (typeof handlers[name] !== 'function') {
        throw new ConfigurationError(`no handler for ${service.name}.${name}`);
      }
      for (const error of method.errors) {
        const list = this.declaring.get(error.errorName) ?? [];
        list.push(name);
        this.declaring.set(error.errorName, list);
      }
    }
    this.description =
      options.reflection === false || service.definition === null || service.definition === undefined
        ? null
        : Buffer.from(
            JSON.stringify({
              definition: service.definition,
              fingerprint: service.fingerprint,
              methods: Object.fromEntries(Object.entries(service.methods).map(([n, m]) => [n, m.fingerprint])),
              leveret: VERSION,
            }),
            'utf8',
          );
  }

  /** Connect, declare, consume. A queue declared with other arguments is a ConfigurationError. */
  async open(): Promise<void> {
    const { connection, url } = await connectAny(this.urls, this.options.name);
    let dead = false; // closed while being set up, before the handlers below were attached
    connection.once('close', () => (dead = true));
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => undefined);
      channel.once('close', () => (dead = true));
      try {
        await channel.assertQueue(this.queue, {
          durable: true,
          exclusive: false,
          autoDelete: false,
          arguments: this.queueArguments,
        });
      } catch (error) {
        const text = (error as Error).message;
        if (/PRECONDITION_FAILED|406/.test(text)) {
          throw new ConfigurationError(
            `queue '${this.queue}' exists with other arguments than this worker's (${text}): ` +
              'every worker of a queue must declare it the same way',
          );
        }
        throw error;
      }
      await channel.prefetch(this.prefetch, false);
      if (this.closing) {
        await connection.close().catch(() => undefined);
        return;
      }
      if (dead) throw new Error('the connection closed while it was being set up');
      this.generation += 1;
      const generation = this.generation;
      this.user = loginOf(url);
      this.model = connection;
      this.channel = channel;
      this.lastError = null;
      const noted = (error: unknown): void => {
        if (this.model === connection && error instanceof Error) this.lastError = error;
      };
      connection.on('error', noted);
      channel.on('error', noted);
      connection.on('close', (error: unknown) => {
        noted(error);
        this.lost(connection);
      });
      channel.on('close', () => this.lost(connection));
      const ok = await channel.consume(this.queue, (msg) => this.onDelivery(msg, generation), { noAck: false });
      this.consumerTag = ok.consumerTag;
      // The backoff starts over only once this connection has stayed up (lost()): one lost at
      // once, again and again (a message that kills it, redelivered to each new one), must not
      // be reopened at the first delay forever.
      this.openedAt = Date.now();
    } catch (error) {
      if (this.model === connection) {
        // Set up no further: the caller of open() decides what comes next (not lost()).
        this.model = null;
        this.channel = null;
        this.consumerTag = null;
      }
      await connection.close().catch(() => undefined);
      if (error instanceof ConfigurationError || error instanceof RpcError) throw error;
      throw new Unavailable(`cannot serve queue '${this.queue}': ${(error as Error).message}`, null, { cause: error });
    }
  }

  private lost(connection: amqp.ChannelModel): void {
    if (this.model !== connection) return;
    this.model = null;
    this.channel = null;
    this.consumerTag = null;
    connection.close().catch(() => undefined);
    // Deliveries not started belong to the lost channel: the broker requeues them.
    this.waiting.length = 0;
    this.notifyIdle();
    if (!this.closing) {
      if (Date.now() - this.openedAt >= STABLE_MS) this.reconnects = 0;
      const why = this.lastError === null ? 'no reason given' : this.lastError.message;
      const delay = this.scheduleReconnect();
      this.logger.warn(
        `leveret.server: lost the connection serving '${this.queue}' (${why}); reconnecting in ${Math.round(delay)} ms`,
      );
    }
  }

  /** Reopen after the next backoff delay; returns the delay (0 when no reopening is due). */
  private scheduleReconnect(): number {
    if (this.reconnectTimer !== null || this.closing) return 0;
    const delay = this.backoff.delayMs(this.reconnects++);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open().catch((error: unknown) => {
        this.logger.warn(`leveret.server: reconnect failed: ${(error as Error).message}`);
        this.scheduleReconnect();
      });
    }, delay);
    return delay;
  }

  private onDelivery(msg: amqp.ConsumeMessage | null, generation: number): void {
    if (msg === null) {
      // The broker cancelled the consumer (the queue was deleted): start over.
      const model = this.model;
      if (model !== null && generation === this.generation) {
        this.lastError = new Error('the broker cancelled the consumer: was the queue deleted?');
        this.lost(model);
      }
      return;
    }
    if (this.closing) {
      this.channel?.nack(msg, false, true);
      return;
    }
    this.waiting.push({ msg, generation });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0 && !this.closing) {
      const delivery = this.waiting.shift()!;
      this.running += 1;
      this.handle(delivery)
        .catch((error: unknown) => {
          this.logger.error(`leveret.server: a delivery could not be settled: ${String(error)}`);
        })
        .finally(() => {
          this.running -= 1;
          this.notifyIdle();
          this.pump();
        });
    }
  }

  private notifyIdle(): void {
    if (this.running === 0) for (const done of this.idle) done();
  }

  private async handle(delivery: Delivery): Promise<void> {
    let outcome: Outcome;
    try {
      const decided = await this.accept(delivery.msg);
      if ('ack' in decided) outcome = decided;
      else {
        const started = performance.now();
        outcome = await this.run(decided);
        this.logCall(decided, outcome, started);
      }
    } catch (error) {
      // A message no check foresaw must cost this message only: refused, never left unsettled.
      const { correlationId, replyTo, type } = delivery.msg.properties;
      this.logger.error(`leveret.server: could not handle a delivery (cid=${String(correlationId)}):`, error);
      outcome =
        correlationId && replyTo
          ? errorOutcome(new Internal(`internal error in ${String(type)} (correlation id ${String(correlationId)})`), false, null)
          : { reply: null, ack: false };
    }
    await this.settle(delivery, outcome);
  }

  /** The checks of §3 up to the handler: an Outcome, or a call to run. */
  private async accept(msg: amqp.ConsumeMessage): Promise<Outcome | PreparedCall> {
    const props = msg.properties;
    const cid = props.correlationId as string | undefined;
    const replyTo = props.replyTo as string | undefined;
    const name = props.type as string | undefined;
    if (!cid || !replyTo) {
      this.logger.warn(
        `leveret.server: rejected a request without ${!cid ? 'correlation_id' : 'reply_to'} (method=${String(name)})`,
      );
      return { reply: null, ack: false };
    }
    const undecodable = undecodableReason(props);
    if (undecodable !== null) {
      this.logger.warn(
        `leveret.server: rejected a request whose properties cannot be decoded (method=${String(name)}, ` +
          `cid=${cid}): ${undecodable}`,
      );
      return errorOutcome(new InvalidArgument(`undecodable request properties: ${undecodable}`), false, null);
    }
    const methods = this.service.methods;
    const method = name && Object.hasOwn(methods, name) ? methods[name] : undefined;
    const fingerprint = method?.fingerprint ?? null;
    const caller = typeof props.userId === 'string' && props.userId ? props.userId : null;
    if (caller === null && this.options.requireCaller) {
      return errorOutcome(
        new Unauthenticated(
          'this service requires callers to identify themselves: publish the request with the AMQP user_id ' +
            'property set to your broker login',
        ),
        false,
        fingerprint,
      );
    }
    if (!isJson(props.contentType as string | undefined)) {
      return errorOutcome(
        new InvalidArgument(`unsupported content type ${pyRepr(String(props.contentType))}`),
        false,
        fingerprint,
      );
    }
    const headers = (props.headers ?? {}) as Record<string, unknown>;
    if (name === DESCRIBE_METHOD && this.description !== null) {
      const deadline = readDeadline(headers);
      if (deadline !== null && Date.now() >= deadline) return { reply: null, ack: true };
      if (this.options.authorize !== undefined) {
        const refused = await this.authorized(DESCRIBE_SPEC, {
          method: DESCRIBE_METHOD,
          correlationId: cid,
          deadline,
          // Invalid metadata refuses no describe: the hook sees none.
          metadata: Object.freeze(readMetadata(headers) ?? {}),
          attempt: readAttempt(headers),
          caller,
          redelivered: msg.fields.redelivered,
          trace: Object.freeze(readTraceHeaders(headers)),
          headers: Object.freeze({ ...headers }),
          contractDrift: null,
        });
        if (refused !== null) return errorOutcome(refused, false, null);
      }
      return { reply: { status: 'OK', body: this.description, fingerprint: this.service.fingerprint }, ack: true };
    }
    if (method === undefined) {
      return errorOutcome(
        new Unimplemented(
          name
            ? `${this.service.name} has no method ${pyRepr(name)}`
            : "the request names no method (the AMQP 'type' property is empty)",
        ),
        false,
        null,
      );
    }
    const deadline = readDeadline(headers);
    if (deadline !== null && Date.now() >= deadline) {
      this.logger.debug(`leveret.server: skipped ${method.name} (cid=${cid}): the caller's deadline has passed`);
      return { reply: null, ack: true };
    }
    let drift: ContractDrift | null = null;
    const theirs = readFingerprint(headers);
    if (theirs !== null && fingerprint !== null && theirs !== fingerprint) {
      // Reported (and refused) only after the metadata, authorize and the size check (wire
      // protocol §3, case 4d): a caller the hook refuses is not told of the drift, and a
      // refused call is not remembered in the drift log. The hook may read it to decide on it.
      drift = { service: this.service.name, method: method.name, client: theirs, server: fingerprint };
    }
    const metadata = readMetadata(headers);
    if (metadata === null) {
      const problem = metadataError(headers);
      this.logger.warn(`leveret.server: refused a request with invalid metadata (cid='${cid}'): ${problem}`);
      return errorOutcome(new InvalidArgument(problem), false, fingerprint);
    }
    const context: AuthorizeContext = {
      method: method.name,
      correlationId: cid,
      deadline,
      metadata: Object.freeze(metadata),
      attempt: readAttempt(headers),
      caller,
      redelivered: msg.fields.redelivered,
      trace: Object.freeze(readTraceHeaders(headers)),
      headers: Object.freeze({ ...headers }),
      contractDrift: drift,
    };
    if (this.options.authorize !== undefined) {
      const refused = await this.authorized(method, context);
      if (refused !== null) return errorOutcome(refused, false, fingerprint);
    }
    const size = msg.content.length;
    if (size > this.maxMessageSize) {
      const limit = this.maxMessageSize;
      return errorOutcome(
        new ResourceExhausted(
          `the request is ${size} bytes, ${size - limit} bytes over the worker's max_message_size (${limit} bytes); it was not read`,
        ),
        false,
        fingerprint,
      );
    }
    if (drift !== null && this.refusesDrift(drift, caller, cid)) {
      return errorOutcome(
        new FailedPrecondition(
          `${drift.service}.${drift.method}: the caller was generated from contract ${drift.client}, this worker ` +
            `serves ${drift.server}; it refuses calls across contracts (on_drift='reject'): regenerate the client`,
        ),
        false,
        fingerprint,
      );
    }
    let request: unknown;
    try {
      request = readBody(msg.content, method.request);
    } catch (error) {
      if (!(error instanceof BodyError)) throw error;
      return errorOutcome(
        new InvalidArgument(`${method.name}: request failed validation: ${summary(error.details)}`, error.details),
        false,
        fingerprint,
      );
    }
    return { method, request, cid, deadline, context };
  }

  /** Null when the `authorize` hook lets the call through, else the error to refuse it with. */
  private async authorized(method: MethodSpec<any, any>, context: AuthorizeContext): Promise<RpcError | null> {
    try {
      await this.options.authorize!(method, context);
      return null;
    } catch (error) {
      if (error instanceof RpcError) {
        this.logger.warn(
          `leveret.server: authorize refused ${method.name} to caller ${context.caller ?? '(no user_id)'} ` +
            `with ${error.status} (cid=${context.correlationId}): ${error.message}`,
        );
        return error;
      }
      // A bug in the hook must not let the call through, nor say why on the wire.
      this.logger.error(
        `leveret.server: authorize failed for ${method.name} (caller ${context.caller ?? '(no user_id)'}, ` +
          `cid=${context.correlationId}); refusing the call with INTERNAL:`,
        error instanceof Error ? (error.stack ?? error.message) : error,
      );
      return new Internal(`internal error in ${method.name} (correlation id ${context.correlationId})`);
    }
  }

  /** Report `drift`; true when the worker refuses it (onDrift 'reject'), told to `driftRefused`. */
  private refusesDrift(drift: ContractDrift, caller: string | null, cid: string): boolean {
    const reject = this.options.onDrift === 'reject';
    this.drifts.report(drift, `caller ${caller ?? '(no user_id)'}, cid '${cid}'`, reject);
    if (!reject) return false;
    const hook = this.options.driftRefused;
    if (hook !== undefined) {
      const failed = (error: unknown): void =>
        this.logger.error(
          `leveret.server: driftRefused failed on a call refused across contracts (cid=${cid}):`,
          error instanceof Error ? (error.stack ?? error.message) : error,
        );
      try {
        const result: unknown = hook(drift);
        // A promise it returns is not waited for, but its rejection must not go unhandled.
        if (result instanceof Promise) result.catch(failed);
      } catch (error) {
        failed(error);
      }
    }
    return true;
  }

  /** Run the handler; its result or error as an Outcome (§3 cases 6-9). */
  private async run(call: PreparedCall): Promise<Outcome> {
    const { method, cid } = call;
    const fingerprint = method.fingerprint ?? null;
    const controller = new AbortController();
    this.runningCalls.add(controller);
    const cancelTimer =
      call.deadline === null ? null : at(call.deadline, () => controller.abort(new Error('the deadline has passed')), true);
    const deadline = call.deadline;
    const context: CallContext = {
      ...call.context,
      signal: controller.signal,
      timeRemaining: () => (deadline === null ? Infinity : Math.max(0, deadline - Date.now())),
    };
    try {
      const handler = this.handlers[method.name]!;
      let result: unknown;
      try {
        result = await handler(call.request, context);
      } catch (error) {
        if (error instanceof RpcError) {
          this.checkDeclared(method, error, cid);
          const schema = (error.constructor as typeof RpcError).detailsSchema;
          if (schema !== null && schema !== undefined) {
            // As a Python declared error's details model would refuse to be built: the handler's bug.
            const wrong = check(schema as Schema, error.details);
            if (wrong !== null) {
              return this.internal(
                method,
                cid,
                new Error(`the details of ${String(error.errorName)} break its schema: ${summary(wrong)}`),
                fingerprint,
              );
            }
          }
          try {
            return errorOutcome(error, true, fingerprint);
          } catch (encodeFailure) {
            return this.internal(method, cid, encodeFailure, fingerprint);
          }
        }
        return this.internal(method, cid, error, fingerprint);
      }
      const where = findNonFinite(result);
      if (where !== null) {
        return this.internal(
          method,
          cid,
          new Error(`handler of '${method.name}' returned ${where.join('.') || '(body)'} = NaN or an infinity, which JSON cannot carry`),
          fingerprint,
        );
      }
      let text: string | undefined;
      try {
        text = JSON.stringify(result);
      } catch (error) {
        return this.internal(method, cid, error, fingerprint);
      }
      const sent: unknown = text === undefined ? undefined : JSON.parse(text);
      const details = check(method.response, sent);
      if (details !== null) {
        return this.internal(
          method,
          cid,
          new Error(`handler of '${method.name}' returned a response its schema refuses: ${summary(details)}`),
          fingerprint,
        );
      }
      return { reply: { status: 'OK', body: Buffer.from(text!, 'utf8'), fingerprint }, ack: true };
    } finally {
      if (cancelTimer !== null) cancelTimer();
      this.runningCalls.delete(controller);
    }
  }

  /** One record per call that ran a handler (Python's log_calls): INFO for OK, WARNING for the
   * statuses a caller or the state of things explains; INTERNAL was logged with its stack. */
  private logCall(call: PreparedCall, outcome: Outcome, started: number): void {
    const status = outcome.reply?.status;
    if (this.options.logCalls === false || status === undefined || status === 'INTERNAL') return;
    const line =
      `leveret.server: handler ${call.method.name} replied ${status} ` +
      `in ${(performance.now() - started).toFixed(1)} ms (cid=${call.cid})`;
    if (status === 'OK') this.logger.info(line);
    else this.logger.warn(line);
  }

  private internal(method: MethodSpec<any, any>, cid: string, error: unknown, fingerprint: string | null): Outcome {
    // The stack goes to the log, with the correlation id the caller's message quotes; never on the wire.
    this.logger.error(
      `leveret.server: handler ${method.name} failed (cid=${cid}):`,
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
    return errorOutcome(new Internal(`internal error in ${method.name} (correlation id ${cid})`), true, fingerprint);
  }

  /** Warn about a named error the method does not declare: its caller gets a plain status. */
  private checkDeclared(method: MethodSpec<any, any>, error: RpcError, cid: string): void {
    const name = error.errorName;
    if (!name || method.errors.some((declared) => declared.errorName === name)) return;
    const others = (this.declaring.get(name) ?? []).filter((m) => m !== method.name);
    this.logger.warn(
      `leveret.server: handler ${method.name} raised ${name}, which ${method.name} does not declare` +
        `${others.length ? ` (declared by ${others.join(', ')})` : ''}: the caller gets a plain ${error.status} (cid=${cid})`,
    );
  }

  /** Publish the reply (confirmed), then ack or reject; a delivery is never left unsettled. */
  private async settle(delivery: Delivery, outcome: Outcome): Promise<void> {
    const { msg } = delivery;
    let reply = outcome.reply;
    if (reply !== null && reply.body.length > this.maxMessageSize) {
      const size = reply.body.length;
      const limit = this.maxMessageSize;
      const error = new ResourceExhausted(
        `the reply of ${String(msg.properties.type)} is ${size} bytes, ${size - limit} bytes over the worker's ` +
          `max_message_size (${limit} bytes); it was not sent`,
      );
      this.logger.error(`leveret.server: ${error.message}`);
      reply = errorOutcome(error, outcome.ack, reply.fingerprint).reply;
    }
    let ack = outcome.ack;
    if (reply !== null) {
      const channel = this.channel;
      if (channel === null) return; // no channel to answer on; the broker requeued the request
      const headers: Record<string, unknown> = { [HEADER_STATUS]: reply.status };
      if (reply.fingerprint) headers[HEADER_FINGERPRINT] = reply.fingerprint;
      try {
        await new Promise<void>((resolve, reject) => {
          try {
            channel.publish(
              '',
              msg.properties.replyTo as string,
              reply!.body,
              { contentType: CONTENT_TYPE, correlationId: msg.properties.correlationId as string, headers, userId: this.user },
              (error: unknown) => (error ? reject(error as Error) : resolve()),
            );
          } catch (error) {
            reject(error as Error);
          }
        });
      } catch (error) {
        this.logger.error(`leveret.server: the reply to cid=${String(msg.properties.correlationId)} could not be published: ${String(error)}`);
        ack = false;
      }
    }
    // A delivery tag names a delivery on one channel only: after a reconnect the broker has
    // already requeued this request, and the same tag would name another delivery.
    const channel = this.channel;
    if (channel === null || delivery.generation !== this.generation) return;
    try {
      if (ack) channel.ack(msg);
      else channel.reject(msg, false);
    } catch (error) {
      this.logger.warn(`leveret.server: could not settle a delivery: ${String(error)}`);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const channel = this.channel;
    if (channel !== null && this.consumerTag !== null) {
      await channel.cancel(this.consumerTag).catch(() => undefined);
    }
    // Deliveries received but not started go back to the queue at once, for another worker.
    for (const delivery of this.waiting.splice(0)) {
      if (delivery.generation === this.generation) channel?.nack(delivery.msg, false, true);
    }
    if (this.running > 0) {
      const grace = (this.options.grace ?? 10) * 1000;
      let done: () => void = () => undefined;
      const idle = new Promise<void>((resolve) => {
        done = resolve;
        this.idle.add(resolve);
      });
      const stop = new AbortController();
      await Promise.race([idle, sleep(grace, stop.signal)]);
      stop.abort();
      this.idle.delete(done);
      for (const controller of this.runningCalls) {
        controller.abort(new Error('the worker stopped past its grace period'));
      }
    }
    const model = this.model;
    const open = this.channel; // not `channel`: a reconnect during the grace may have replaced it
    this.model = null;
    this.channel = null;
    // The channel first, and waited for: amqplib writes a connection's Close (channel 0) ahead of
    // frames still queued on channel 1, so the acks of the calls waited for above would be lost
    // and the broker would hand those calls to another worker. The broker answers a channel's
    // Close only after the acks sent before it.
    if (open !== null) await open.close().catch(() => undefined);
    if (model !== null) await model.close().catch(() => undefined);
  }
}

interface PreparedCall {
  method: MethodSpec<any, any>;
  request: unknown;
  cid: string;
  deadline: number | null;
  context: AuthorizeContext;
}

/**
 * Serve `service` with `handlers` (keyed by wire method name) until `close()`. Resolves once the
 * worker consumes its queue; rejects with Unavailable when no broker can be reached, or
 * ConfigurationError when the queue exists with other arguments.
 */
export async function serveService(
  service: ServiceSpec,
  handlers: Record<string, Handler<any, any>>,
  options: ServeOptions = {},
): Promise<Worker> {
  const worker = new WorkerImpl(service, handlers, options);
  await worker.open();
  return worker;
}
