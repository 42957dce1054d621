// What a handler gets beside its request (runtime/leveret/_context.py).

import type { ContractDrift } from './drift';

export interface CallContext {
  /** The wire method name. */
  readonly method: string;
  /** The request's correlation id, as text. */
  readonly correlationId: string;
  /** The caller's deadline, Unix milliseconds, or null. */
  readonly deadline: number | null;
  /** The caller's metadata (`leveret-md-*` headers, checked), read-only. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Retries before this request: 0 for a first attempt. */
  readonly attempt: number;
  /** The AMQP user_id of the request (the caller's broker login, checked by the broker), or null. */
  readonly caller: string | null;
  /** True when the broker delivered this request before (a worker died with it). */
  readonly redelivered: boolean;
  /** The valid W3C trace headers of the request (traceparent, tracestate, baggage), to pass on:
   * `client.method(request, { trace: context.trace })`. */
  readonly trace: Readonly<Record<string, string>>;
  /** The request's whole headers table, as amqplib decoded it. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** Aborted at the deadline, and when the worker is closed past its grace period. */
  readonly signal: AbortSignal;
  /** Set when the caller was generated from another contract of the method. */
  readonly contractDrift: ContractDrift | null;
  /** Milliseconds left before the deadline (Infinity without one). */
  timeRemaining(): number;
}
