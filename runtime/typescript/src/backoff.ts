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

/** One call of a DeadlineTimer: `expire` runs at `when` (epoch ms) unless removed first. */
export interface Timed {
  readonly when: number;
  readonly expire: () => void;
  /** Its place in the timer's heap; -1 when not in it. */
  index: number;
}

/**
 * Many deadlines on one timer: a binary heap of the entries by `when`, and one setTimeout armed at
 * (or before) the earliest. A setTimeout and clearTimeout per call cost the client a timer list
 * insertion and removal each (docs/performance.md, issue 13); here adding and removing an entry
 * is a heap step, and the timer is re-armed only when an entry comes due before it. Calls with the
 * same timeout come in deadline order, so the timer mostly fires once per timeout, finds the entry
 * it was armed for gone, and re-arms for the earliest left. The timer is unref'd: whatever waits
 * on these deadlines (a call on a connection) keeps the process alive by itself.
 */
export class DeadlineTimer {
  private readonly heap: Timed[] = [];
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  get size(): number {
    return this.heap.length;
  }

  add(when: number, expire: () => void): Timed {
    const entry: Timed = { when, expire, index: this.heap.length };
    this.heap.push(entry);
    this.up(entry.index);
    if (when < this.armedFor) this.arm();
    return entry;
  }

  /** Forget `entry` (it settled otherwise); nothing when it already expired or was removed. */
  remove(entry: Timed): void {
    const i = entry.index;
    if (i < 0) return;
    entry.index = -1;
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
  }

  /** Drop every entry and the timer (none expires). */
  clear(): void {
    for (const entry of this.heap) entry.index = -1;
    this.heap.length = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    const first = this.heap[0];
    if (first === undefined) return;
    const left = Math.min(Math.max(first.when - Date.now(), 1), MAX_TIMER_MS);
    this.armedFor = Date.now() + left;
    this.timer = setTimeout(() => this.fire(), left);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = Date.now();
    const due: Timed[] = [];
    while (this.heap.length > 0 && this.heap[0]!.when <= now) {
      const entry = this.heap[0]!;
      this.remove(entry);
      due.push(entry);
    }
    this.arm();
    for (const entry of due) entry.expire();
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (above.when <= entry.when) break;
      heap[i] = above;
      above.index = i;
      i = parent;
    }
    heap[i] = entry;
    entry.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.when < heap[child]!.when) child += 1;
      const below = heap[child]!;
      if (below.when >= entry.when) break;
      heap[i] = below;
      below.index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
