// leveret's errors, mirroring runtime/leveret/_errors.py: callers handle one family, whether the
// failure was remote or local.
//
//   LeveretError                 base of everything leveret throws
//   ├── ConfigurationError       bad URL, bad option: a programming error, not a call failure
//   └── RpcError                 a call failed; .status, .message, .details
//       ├── Cancelled ... Unauthenticated   one class per status, with the Python names
//
// Declared errors of a definition are generated as subclasses of the class of their status
// (`class OutOfStock extends FailedPrecondition`), so `instanceof FailedPrecondition` catches them.

import type { StatusName } from './status';

/**
 * Where a failure came from. `server`: a reply. `local`: nothing was published (validation,
 * no connection). `no-route`: the broker returned the request (no such queue). `nack`: the
 * broker refused it. `lost`: the connection died with the call in flight. `refused`: the broker
 * closed the channel over the request itself (it would be refused again: never retried).
 * `no-consumer`: not sent, the queue exists but no worker consumes it.
 */
export type ErrorOrigin = 'server' | 'local' | 'no-route' | 'nack' | 'lost' | 'refused' | 'no-consumer';

export interface RpcErrorOptions {
  origin?: ErrorOrigin;
  cause?: unknown;
}

/** Base of every error leveret throws. */
export class LeveretError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad URL, option or servicer: fix the code or the configuration. */
export class ConfigurationError extends LeveretError {}

/**
 * A call failed with a status. `details`: a declared error's details, the list of validation
 * errors for INVALID_ARGUMENT, or null.
 */
export class RpcError extends LeveretError {
  /** The status name; each subclass sets its own. */
  static readonly status: StatusName = 'UNKNOWN';
  /** The declared error's name in the definition; null for the plain status classes. */
  static readonly errorName: string | null = null;
  /** The JSON Schema of a declared error's details (generated), null when it has none. */
  static readonly detailsSchema: object | null = null;

  readonly status: StatusName;
  readonly details: unknown;
  readonly origin: ErrorOrigin;
  /** The declared error name a server reported, also when this client does not know it. */
  remoteError: string | null;

  constructor(message: string, details?: unknown, options?: RpcErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    const cls = new.target as unknown as typeof RpcError;
    this.status = cls.status;
    this.details = details === undefined ? null : details;
    this.origin = options?.origin ?? 'local';
    this.remoteError = cls.errorName;
  }

  /** The declared error's name (the class's `errorName`), null for a plain status. */
  get errorName(): string | null {
    return (this.constructor as typeof RpcError).errorName;
  }

  /** True when the request certainly never reached a queue: retrying is safe for any method. */
  get neverSent(): boolean {
    const origin = this.origin;
    return origin === 'local' || origin === 'no-route' || origin === 'nack' || origin === 'no-consumer';
  }

  override toString(): string {
    return `${this.status}: ${this.message}`;
  }
}

export class Cancelled extends RpcError {
  static override readonly status: StatusName = 'CANCELLED';
}
export class Unknown extends RpcError {
  static override readonly status: StatusName = 'UNKNOWN';
}
export class InvalidArgument extends RpcError {
  static override readonly status: StatusName = 'INVALID_ARGUMENT';
}
export class DeadlineExceeded extends RpcError {
  static override readonly status: StatusName = 'DEADLINE_EXCEEDED';
}
export class NotFound extends RpcError {
  static override readonly status: StatusName = 'NOT_FOUND';
}
export class AlreadyExists extends RpcError {
  static override readonly status: StatusName = 'ALREADY_EXISTS';
}
export class PermissionDenied extends RpcError {
  static override readonly status: StatusName = 'PERMISSION_DENIED';
}
export class ResourceExhausted extends RpcError {
  static override readonly status: StatusName = 'RESOURCE_EXHAUSTED';
}
export class FailedPrecondition extends RpcError {
  static override readonly status: StatusName = 'FAILED_PRECONDITION';
}
export class Aborted extends RpcError {
  static override readonly status: StatusName = 'ABORTED';
}
export class OutOfRange extends RpcError {
  static override readonly status: StatusName = 'OUT_OF_RANGE';
}
export class Unimplemented extends RpcError {
  static override readonly status: StatusName = 'UNIMPLEMENTED';
}
export class Internal extends RpcError {
  static override readonly status: StatusName = 'INTERNAL';
}
export class Unavailable extends RpcError {
  static override readonly status: StatusName = 'UNAVAILABLE';
}
export class DataLoss extends RpcError {
  static override readonly status: StatusName = 'DATA_LOSS';
}
export class Unauthenticated extends RpcError {
  static override readonly status: StatusName = 'UNAUTHENTICATED';
}

const BY_STATUS: ReadonlyMap<StatusName, typeof RpcError> = new Map(
  [
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
  ].map((cls) => [cls.status, cls] as const),
);

/** The plain error class of a status (`Unknown` for `OK`, which is not an error). */
export function errorClassFor(status: StatusName): typeof RpcError {
  return BY_STATUS.get(status) ?? Unknown;
}
