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

/** The longest delay setTimeout takes (a longer one fires at once, with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Call `fn` at `at` (epoch ms), however far ahead (a deadline may be days away, or never come:
 * `1e300`); returns a function that cancels it. `unref`: the timer alone keeps no process alive.
 */
export function at(when: number, fn: () => void, unref = false): () => void {
  let timer: NodeJS.Timeout | null = null;
  const arm = (): void => {
    const left = when - Date.now();
    if (left <= 0) {
      timer = null;
      fn();
      return;
    }
    timer = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.min(left, MAX_TIMER_MS));
    if (unref) timer.unref();
  };
  arm();
  return () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
}
