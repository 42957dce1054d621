// When a failed call is tried again (runtime/leveret/_retry.py): only on UNAVAILABLE, never past
// the deadline, and only when safe: the method is idempotent, or the broker said the request
// never reached a queue. Retries of failures the service or broker reported are charged to a
// token bucket (gRPC's retry throttling); connection trouble is not.

import { Backoff } from './backoff';
import { RpcError, Unavailable } from './errors';

export class RetryBudget {
  private tokens: number;

  constructor(
    readonly maxTokens = 10,
    readonly tokenRatio = 0.1,
  ) {
    this.tokens = maxTokens;
  }

  recordFailure(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  recordSuccess(): void {
    this.tokens = Math.min(this.maxTokens, this.tokens + this.tokenRatio);
  }

  allowsRetry(): boolean {
    return this.tokens > this.maxTokens / 2;
  }
}

export interface RetryOptions {
  /** Attempts of a call whose failures the broker or the service reported, the first included; 1: never retry. */
  maxAttempts?: number;
}

export class RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff = new Backoff(0.05, 2, 2, 0.2);
  readonly budget = new RetryBudget();

  constructor(options: RetryOptions = {}) {
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  /** Milliseconds to wait before attempt `attempt + 1` (0-based), or null: give up with `error`. */
  nextDelay(error: RpcError, idempotent: boolean, attempt: number, deadline: number | null): number | null {
    if (this.maxAttempts <= 1 || error.origin === 'refused') return null;
    if (!(error instanceof Unavailable) || !(idempotent || error.neverSent)) return null;
    if (error.origin === 'no-consumer' && !idempotent) return null; // fail fast, as the caller did not wait
    if (error.origin === 'no-route' && attempt >= 1) return null;
    if (error.origin !== 'local' && error.origin !== 'lost' && error.origin !== 'no-consumer') {
      this.budget.recordFailure();
      if (attempt + 1 >= this.maxAttempts || !this.budget.allowsRetry()) return null;
    } else if (deadline === null && attempt + 1 >= this.maxAttempts) {
      return null;
    }
    const delay = this.backoff.delayMs(Math.min(attempt, 16));
    if (deadline !== null && Date.now() + delay >= deadline) return null;
    return delay;
  }

  recordSuccess(): void {
    this.budget.recordSuccess();
  }
}
