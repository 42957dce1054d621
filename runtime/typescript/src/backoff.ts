// Exponential backoff with jitter (runtime/leveret/_backoff.py), and a sleep that can be cut short.

/** Exponential backoff with jitter: initial seconds, doubling, at most `maximum`. */
export class Backoff {
  constructor(
    readonly initial = 0.1,
    readonly multiplier = 2,
    readonly maximum = 5,
    readonly jitter = 0.2,
  ) {}

  /** Milliseconds to wait before retry number `attempt` (0 for the first). */
  delayMs(attempt: number): number {
    const base = Math.min(this.maximum, this.initial * this.multiplier ** Math.min(attempt, 30));
    const spread = base * this.jitter;
    return Math.max(0, (base - spread + Math.random() * 2 * spread) * 1000);
  }
}

/** A promise settled after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
