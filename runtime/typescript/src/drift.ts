// Contract drift: a caller and a worker generated from different versions of a definition
// (runtime/leveret/_drift.py, docs/wire-protocol.md "Contract drift"). Each side warns once per
// distinct pair of fingerprints, and "once" is per process and side: every client of a process
// shares one memory of the pairs it warned about, every worker another, so a program that makes
// a client per request, or runs several workers, still warns once per pair.

export interface ContractDrift {
  readonly service: string;
  readonly method: string;
  /** The caller's fingerprint of the method. */
  readonly client: string;
  /** The worker's. */
  readonly server: string;
}

/**
 * At most this many distinct pairs are remembered per process and side. Past it the least
 * recently seen pair is forgotten (and warned again if it comes back): a peer sending a new
 * fingerprint with every call cannot grow memory, nor keep a genuine drift that comes after it
 * from being warned. It can cause one warning per call it is allowed to make (the worker reports
 * a drift only for calls its `authorize` hook let through), as a call with invalid metadata can.
 */
export const MAX_REMEMBERED = 1024;

/** Where leveret logs: `console` fits; each line starts with `leveret.client:` or `leveret.server:`. */
export type Logger = Pick<Console, 'debug' | 'info' | 'warn' | 'error'>;

/** Warnings and errors to the console; debug and info dropped. */
export const defaultLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => console.warn(...args),
  error: (...args: unknown[]) => console.error(...args),
};

/** The pairs one side has warned about, least recently seen first, at most `capacity` of them. */
export class RememberedDrifts {
  // A Map iterates in insertion order: re-inserting a pair on each sighting makes that order
  // the order of recency, so the first key is the one to forget.
  private readonly seen = new Map<string, true>();

  constructor(readonly capacity: number = MAX_REMEMBERED) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity is a positive integer, not ${String(capacity)}`);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  has(drift: ContractDrift): boolean {
    return this.seen.has(keyOf(drift));
  }

  /** Remember `drift` as the most recently seen pair; true when it was not remembered before. */
  note(drift: ContractDrift): boolean {
    const key = keyOf(drift);
    if (this.seen.delete(key)) {
      this.seen.set(key, true);
      return false;
    }
    this.seen.set(key, true);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }

  /** Forget every pair (tests: each starts from a process that has seen none). */
  clear(): void {
    this.seen.clear();
  }
}

function keyOf(drift: ContractDrift): string {
  return JSON.stringify([drift.service, drift.method, drift.client, drift.server]);
}

/** The pairs every client of this process warned about. */
export const CLIENT_DRIFTS = new RememberedDrifts();
/** The pairs every worker of this process warned about. */
export const SERVER_DRIFTS = new RememberedDrifts();

/**
 * Logs each distinct drift once for one side, to its own logger. The memory of what was logged is
 * the process's for that side (CLIENT_DRIFTS or SERVER_DRIFTS) unless one is given: a DriftLog per
 * client or worker still warns once per process.
 */
export class DriftLog {
  readonly remembered: RememberedDrifts;

  constructor(
    readonly side: 'client' | 'server',
    private readonly logger: Logger,
    remembered?: RememberedDrifts,
  ) {
    this.remembered = remembered ?? (side === 'client' ? CLIENT_DRIFTS : SERVER_DRIFTS);
  }

  /**
   * Log `drift` unless it is remembered from before; `peer` names the other side, `refused`: the
   * worker answered the call FAILED_PRECONDITION instead of running it.
   */
  report(drift: ContractDrift, peer: string, refused = false): void {
    if (!this.remembered.note(drift)) return;
    const outcome = !refused
      ? 'the call goes on, validated as usual'
      : this.side === 'server'
        ? "the call is refused (on_drift='reject')"
        : 'the worker refused the call (FAILED_PRECONDITION)';
    this.logger.warn(
      `leveret.${this.side}: contract drift on ${drift.service}.${drift.method}: the caller's contract is ` +
        `${drift.client}, the worker's ${drift.server} (${peer}); ${outcome}`,
    );
  }
}
