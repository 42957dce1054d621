// Contract drift: a caller and a worker generated from different versions of a definition
// (runtime/leveret/_drift.py). Each side warns once per distinct pair of fingerprints.

export interface ContractDrift {
  readonly service: string;
  readonly method: string;
  /** The caller's fingerprint of the method. */
  readonly client: string;
  /** The worker's. */
  readonly server: string;
}

/** At most this many pairs are remembered: a peer inventing fingerprints cannot grow memory. */
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

export class DriftLog {
  private readonly seen = new Set<string>();
  private full = false;

  constructor(
    readonly side: 'client' | 'server',
    private readonly logger: Logger,
  ) {}

  /** Log `drift` unless it was logged before; `peer` names the other side. */
  report(drift: ContractDrift, peer: string): void {
    const key = JSON.stringify([drift.service, drift.method, drift.client, drift.server]);
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_REMEMBERED) {
      if (this.full) return;
      this.full = true;
      this.logger.warn(
        `leveret.${this.side}: contract drift: more than ${MAX_REMEMBERED} distinct fingerprint pairs seen; ` +
          `no more drift warnings from this ${this.side}`,
      );
      return;
    }
    this.seen.add(key);
    this.logger.warn(
      `leveret.${this.side}: contract drift on ${drift.service}.${drift.method}: the caller's contract is ` +
        `${drift.client}, the worker's ${drift.server} (${peer}); the call goes on, validated as usual`,
    );
  }
}
