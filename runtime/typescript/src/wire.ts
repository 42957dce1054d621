// The message format of docs/wire-protocol.md: header names, limits, and the readers and checks
// both sides share (runtime/leveret/_wire.py).

import { statusFromWire, type StatusName } from './status';

export const CONTENT_TYPE = 'application/json';
export const HEADER_DEADLINE = 'rpc-deadline';
export const HEADER_STATUS = 'rpc-status';
export const HEADER_ATTEMPT = 'rpc-attempt';
export const HEADER_FINGERPRINT = 'rpc-fingerprint';
export const DESCRIBE_METHOD = 'leveret.describe';
export const METADATA_PREFIX = 'leveret-md-';
export const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const;
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** The longest `expiration` leveret sends: 2**32 - 1 ms (RabbitMQ's documented limit). */
export const MAX_EXPIRATION_MS = 2 ** 32 - 1;
/** The longest timeout of a call, in seconds. */
export const MAX_TIMEOUT = Math.floor(MAX_EXPIRATION_MS / 1000);
/** leveret's default max_message_size on both sides: 4 MiB (gRPC's receive limit). */
export const MAX_MESSAGE_SIZE = 4 * 1024 * 1024;

export const MAX_METADATA_ENTRIES = 64;
export const MAX_METADATA_KEY = 64;
export const MAX_METADATA_VALUE = 4096;
export const MAX_METADATA_SIZE = 8192;
export const MAX_FINGERPRINT = 128;
export const MAX_TRACE_HEADER = 8192;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string is valid Unicode (no lone surrogate), so that it can be UTF-8. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

const METADATA_KEY = /^[a-z0-9_.-]+$/;
// C0, DEL, C1 and the line separators: a value is printed in logs and must not forge a line.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Python's repr of a str, for messages that must read as the Python worker's do. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + quote;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0)) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (code >= 0xd800 && code <= 0xdfff) out += '\\u' + code.toString(16);
    else out += ch;
  }
  return out + quote;
}

function typeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Buffer.isBuffer(value)) return 'bytes';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    case 'object':
      return 'dict';
    default:
      return typeof value;
  }
}

/** Why `key: value` is not a valid metadata entry, or null (the rules of `_wire.py`). */
export function metadataProblem(key: unknown, value: unknown): string | null {
  if (typeof key !== 'string') return `metadata keys are str, not ${typeName(key)}`;
  if (!key || key.length > MAX_METADATA_KEY || !METADATA_KEY.test(key)) {
    const shown = key.length <= MAX_METADATA_KEY ? key : key.slice(0, MAX_METADATA_KEY) + '...';
    return `metadata key ${pyRepr(shown)}: 1 to ${MAX_METADATA_KEY} characters of a-z, 0-9, '-', '_' and '.'`;
  }
  if (typeof value !== 'string') return `metadata ${pyRepr(key)}: values are str, not ${typeName(value)}`;
  if (value.length > MAX_METADATA_VALUE) {
    return `metadata ${pyRepr(key)}: the value is over ${MAX_METADATA_VALUE} bytes of UTF-8`;
  }
  if (!isWellFormed(value)) return `metadata ${pyRepr(key)}: the value is not valid Unicode (a lone surrogate)`;
  if (Buffer.byteLength(value, 'utf8') > MAX_METADATA_VALUE) {
    return `metadata ${pyRepr(key)}: the value is over ${MAX_METADATA_VALUE} bytes of UTF-8`;
  }
  if (CONTROL.test(value)) {
    return (
      `metadata ${pyRepr(key)}: the value has a control character or a line separator ` +
      '(U+0000-U+001F, U+007F-U+009F, U+2028, U+2029)'
    );
  }
  return null;
}

function metadataSize(metadata: Record<string, string>): number {
  let size = 0;
  for (const [key, value] of Object.entries(metadata)) size += key.length + Buffer.byteLength(value, 'utf8');
  return size;
}

/** A caller's metadata checked, or an Error saying what is wrong with it. */
export function checkMetadata(metadata: unknown): Record<string, string> {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new Error(`metadata is a mapping of str to str, not ${typeName(metadata)}`);
  }
  const entries = Object.entries(metadata as Record<string, unknown>);
  if (entries.length > MAX_METADATA_ENTRIES) {
    throw new Error(`metadata has ${entries.length} entries, more than ${MAX_METADATA_ENTRIES}`);
  }
  for (const [key, value] of entries) {
    const problem = metadataProblem(key, value);
    if (problem !== null) throw new Error(problem);
  }
  const checked = Object.fromEntries(entries) as Record<string, string>;
  const size = metadataSize(checked);
  if (size > MAX_METADATA_SIZE) {
    throw new Error(`metadata is ${size} bytes (keys and UTF-8 values), more than ${MAX_METADATA_SIZE}`);
  }
  return checked;
}

/**
 * The metadata a request's headers carry ({} when none), or null when an entry breaks the rules
 * a caller is held to: nothing a peer sends reaches a handler unchecked.
 */
export function readMetadata(headers: Record<string, unknown>): Record<string, string> | null {
  const metadata: Record<string, string> = {};
  let count = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith(METADATA_PREFIX)) continue;
    const key = name.slice(METADATA_PREFIX.length);
    const value = raw;
    if (metadataProblem(key, value) !== null) return null;
    metadata[key] = value as string;
    count += 1;
  }
  if (count > MAX_METADATA_ENTRIES || metadataSize(metadata) > MAX_METADATA_SIZE) return null;
  return metadata;
}

/** What readMetadata found wrong, for the INVALID_ARGUMENT reply. */
export function metadataError(headers: Record<string, unknown>): string {
  const entries: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(METADATA_PREFIX)) entries[name.slice(METADATA_PREFIX.length)] = value;
  }
  try {
    checkMetadata(entries);
  } catch (error) {
    return (error as Error).message;
  }
  return 'invalid metadata';
}

function isPrintableAscii(value: string): boolean {
  return /^[\x20-\x7e]*$/.test(value);
}

/** The trace headers a caller set, checked: only W3C names, printable ASCII, bounded. */
export function checkTraceHeaders(headers: unknown): Record<string, string> {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new Error(`headers is a mapping of str to str, not ${typeName(headers)}`);
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (!(TRACE_HEADERS as readonly string[]).includes(name)) {
      throw new Error(`header ${pyRepr(name)}: a middleware may set only ${TRACE_HEADERS.join(', ')}`);
    }
    if (typeof value !== 'string' || value.length > MAX_TRACE_HEADER || !isPrintableAscii(value)) {
      throw new Error(
        `header ${pyRepr(name)}: the value is not printable ASCII of at most ${MAX_TRACE_HEADER} characters`,
      );
    }
  }
  return { ...(headers as Record<string, string>) };
}

/** The valid W3C trace headers of a request; an invalid one is dropped, never refused. */
export function readTraceHeaders(headers: Record<string, unknown>): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of TRACE_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string' && value.length <= MAX_TRACE_HEADER && isPrintableAscii(value)) found[name] = value;
  }
  return found;
}

/**
 * The `rpc-deadline` header in Unix milliseconds, or null: absent, or not an AMQP number (a
 * string, even a numeric one, a boolean, a decimal, a timestamp). A float counts in whole ms.
 */
export function readDeadline(headers: Record<string, unknown>): number | null {
  const raw = headers[HEADER_DEADLINE];
  let value: number;
  if (typeof raw === 'number') value = Math.trunc(raw);
  else if (typeof raw === 'bigint') value = Number(raw);
  else return null;
  return Number.isFinite(value) ? value : null;
}

/** The retries before a request from `rpc-attempt` (0 for a first attempt, or anything odd). */
export function readAttempt(headers: Record<string, unknown>): number {
  const raw = headers[HEADER_ATTEMPT];
  const value = typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) return 0;
  return value - 1;
}

/** The `rpc-fingerprint` header, or null when absent or not printable ASCII of 1 to 128. */
export function readFingerprint(headers: Record<string, unknown> | undefined | null): string | null {
  let raw = headers?.[HEADER_FINGERPRINT];
  if (Buffer.isBuffer(raw)) raw = raw.toString('latin1');
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_FINGERPRINT || !isPrintableAscii(raw)) {
    return null;
  }
  return raw;
}

/** The body of a reply whose status is not OK. */
export interface ErrorPayload {
  code: StatusName;
  message: string;
  error: string | null;
  details: unknown;
}

/** An error body: exactly the four keys of §4. Throws on details JSON cannot carry. */
export function encodeError(payload: ErrorPayload): Buffer {
  const details = payload.details === undefined ? null : payload.details;
  const where = findNonFinite(details);
  if (where !== null) {
    throw new Error(`the details hold NaN or an infinity at ${where.join('.') || '(details)'}`);
  }
  return Buffer.from(
    JSON.stringify({ code: payload.code, message: payload.message, error: payload.error, details }),
    'utf8',
  );
}

/** Read an error reply leniently: a peer in another language may omit fields. */
export function decodeError(status: unknown, body: Buffer): ErrorPayload {
  const code = statusFromWire(status);
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    return { code, message: body.toString('utf8').slice(0, 500) || code, error: null, details: null };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { code, message: code, error: null, details: data };
  }
  const record = data as Record<string, unknown>;
  return {
    code,
    message: typeof record.message === 'string' ? record.message : code,
    error: typeof record.error === 'string' ? record.error : null,
    details: record.details === undefined ? null : record.details,
  };
}

/** The path of the first NaN or infinity in a JSON-like value, or null. */
export function findNonFinite(value: unknown, path: string[] = []): string[] | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], [...path, String(i)]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findNonFinite(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}
