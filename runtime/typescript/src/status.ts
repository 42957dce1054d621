// Status codes: the gRPC set, carried by name in the `rpc-status` reply header
// (runtime/leveret/_status.py). The wire carries the name, never the number.

export const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export type StatusName = (typeof STATUS_NAMES)[number];

const KNOWN: ReadonlySet<string> = new Set(STATUS_NAMES);

/** The status of a header value; an unknown name (a newer peer) or none is `UNKNOWN`. */
export function statusFromWire(name: unknown): StatusName {
  if (Buffer.isBuffer(name)) name = name.toString('utf8');
  return typeof name === 'string' && KNOWN.has(name) ? (name as StatusName) : 'UNKNOWN';
}

/** The gRPC number of a status, for reference only. */
export function statusCode(name: StatusName): number {
  return STATUS_NAMES.indexOf(name);
}
