// A request's basic.publish, content header and body frames encoded here, in one buffer, instead
// of by amqplib's generic encoders (its property encoder and field-table codec were ~8 % of the
// client's CPU at 64 calls in flight, docs/performance.md, issue 13): the bytes are the ones
// amqplib writes for the same publish (test/units.test.ts compares them), the Python runtime's
// runtime/leveret/_frames.py does the same for pika. What this does not know how to encode (a
// header value other than a string, an integer or a {'!': 'long'}, a name or a string too long
// for a short string, a body larger than one frame) returns null, and amqplib's own publish runs.

import type * as amqp from 'amqplib';

const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_END = 0xce;
const FRAME_OVERHEAD = 8;
const CLASS_BASIC = 60;
const METHOD_PUBLISH = 40;

// Basic property flags, in the order their values follow (AMQP 0-9-1, basic class).
const FLAG_CONTENT_TYPE = 0x8000;
const FLAG_HEADERS = 0x2000;
const FLAG_CORRELATION_ID = 0x0400;
const FLAG_REPLY_TO = 0x0200;
const FLAG_EXPIRATION = 0x0100;
const FLAG_TYPE = 0x0020;
const FLAG_USER_ID = 0x0010;

/** What a request carries (the properties the client sets, docs/wire-protocol.md §2). */
export interface RequestProperties {
  contentType: string;
  correlationId: string;
  replyTo: string;
  type: string;
  expiration: string | undefined;
  headers: Record<string, unknown>;
  userId: string;
}

// Most calls repeat a handful of short strings (queue, content type, reply-to, method, user,
// header names): their encoding is kept, a bounded few of them.
const shortCache = new Map<string, Buffer | null>();
const MAX_CACHED = 1024;

/** `text` as an AMQP short string (length byte, UTF-8), or null when over 255 bytes. */
function shortString(text: string): Buffer | null {
  let encoded = shortCache.get(text);
  if (encoded === undefined) {
    const bytes = Buffer.from(text, 'utf8');
    encoded = bytes.length > 255 ? null : Buffer.concat([Buffer.of(bytes.length), bytes]);
    if (shortCache.size >= MAX_CACHED) shortCache.clear();
    shortCache.set(text, encoded);
  }
  return encoded;
}

// amqplib's choice of type for a JS number (codec.js isFloatingPoint): floats go as doubles,
// which a request's headers never hold; an integer takes the smallest signed type that fits.
function integerTag(value: number): number | null {
  if (!Number.isSafeInteger(value)) return null;
  if (value >= -128 && value < 128) return 0x62; // 'b'
  if (value >= -0x8000 && value < 0x8000) return 0x73; // 's'
  if (value >= -0x80000000 && value < 0x80000000) return 0x49; // 'I'
  return 0x6c; // 'l'
}

/** The encoded size of a field value, or -1 when amqplib must encode it. */
function valueSize(value: unknown): number {
  if (typeof value === 'string') return 5 + Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const tag = integerTag(value);
    return tag === 0x62 ? 2 : tag === 0x73 ? 3 : tag === 0x49 ? 5 : tag === 0x6c ? 9 : -1;
  }
  if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, '!')) {
    const typed = value as { '!': unknown; value: unknown };
    if (typed['!'] === 'long' && typeof typed.value === 'number' && Number.isSafeInteger(typed.value)) return 9;
  }
  return -1;
}

function writeValue(buffer: Buffer, offset: number, value: unknown): number {
  if (typeof value === 'string') {
    buffer[offset] = 0x53; // 'S'
    const length = buffer.write(value, offset + 5, 'utf8');
    buffer.writeUInt32BE(length, offset + 1);
    return offset + 5 + length;
  }
  if (typeof value === 'number') {
    const tag = integerTag(value)!;
    buffer[offset] = tag;
    if (tag === 0x62) return buffer.writeInt8(value, offset + 1);
    if (tag === 0x73) return buffer.writeInt16BE(value, offset + 1);
    if (tag === 0x49) return buffer.writeInt32BE(value, offset + 1);
    return buffer.writeBigInt64BE(BigInt(value), offset + 1);
  }
  buffer[offset] = 0x6c; // 'l'
  return buffer.writeBigInt64BE(BigInt((value as { value: number }).value), offset + 1);
}

/**
 * The frames of one basic.publish (exchange '', routing key `queue`, mandatory) on channel `ch`,
 * as one buffer; null when amqplib must encode it.
 */
export function encodePublish(
  ch: number,
  frameMax: number,
  queue: string,
  body: Buffer,
  props: RequestProperties,
): Buffer | null {
  const routingKey = shortString(queue);
  const contentType = shortString(props.contentType);
  // Not cached: a new one every call.
  const correlationIdSize = Buffer.byteLength(props.correlationId, 'utf8');
  const replyTo = shortString(props.replyTo);
  const type = shortString(props.type);
  const userId = shortString(props.userId);
  const expiration = props.expiration;
  const expirationSize = expiration === undefined ? 0 : Buffer.byteLength(expiration, 'utf8');
  if (
    routingKey === null ||
    contentType === null ||
    correlationIdSize > 255 ||
    replyTo === null ||
    type === null ||
    userId === null ||
    expirationSize > 255 ||
    body.length + FRAME_OVERHEAD > frameMax
  ) {
    return null;
  }
  // Two passes over the headers (size, then bytes) rather than arrays of them: less to collect.
  let tableSize = 0;
  const headers = props.headers;
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined) continue; // amqplib leaves it out
    const name = shortString(key);
    const size = valueSize(value);
    if (name === null || size < 0) return null;
    tableSize += name.length + size;
  }
  // method frame: class, method, ticket, exchange '' (one byte), routing key, bits
  const methodSize = 2 + 2 + 2 + 1 + routingKey.length + 1;
  // header frame: class, weight, body size (64 bits), flags, then the values in flag order
  const headerSize =
    2 +
    2 +
    8 +
    2 +
    contentType.length +
    4 +
    tableSize +
    1 +
    correlationIdSize +
    replyTo.length +
    (expiration === undefined ? 0 : 1 + expirationSize) +
    type.length +
    userId.length;
  const total =
    methodSize + FRAME_OVERHEAD + headerSize + FRAME_OVERHEAD + (body.length > 0 ? body.length + FRAME_OVERHEAD : 0);
  const out = Buffer.allocUnsafe(total);
  // basic.publish
  let at = out.writeUInt8(FRAME_METHOD, 0);
  at = out.writeUInt16BE(ch, at);
  at = out.writeUInt32BE(methodSize, at);
  at = out.writeUInt16BE(CLASS_BASIC, at);
  at = out.writeUInt16BE(METHOD_PUBLISH, at);
  at = out.writeUInt16BE(0, at);
  out[at++] = 0;
  at += routingKey.copy(out, at);
  out[at++] = 1; // mandatory, not immediate
  out[at++] = FRAME_END;
  // content header
  at = out.writeUInt8(FRAME_HEADER, at);
  at = out.writeUInt16BE(ch, at);
  at = out.writeUInt32BE(headerSize, at);
  at = out.writeUInt16BE(CLASS_BASIC, at);
  at = out.writeUInt16BE(0, at);
  at = out.writeUInt32BE(0, at); // body size, high half: a body fits one frame (< 4 GiB)
  at = out.writeUInt32BE(body.length, at);
  const flags =
    FLAG_CONTENT_TYPE |
    FLAG_HEADERS |
    FLAG_CORRELATION_ID |
    FLAG_REPLY_TO |
    (expiration === undefined ? 0 : FLAG_EXPIRATION) |
    FLAG_TYPE |
    FLAG_USER_ID;
  at = out.writeUInt16BE(flags, at);
  at += contentType.copy(out, at);
  at = out.writeUInt32BE(tableSize, at);
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined) continue;
    at += shortString(key)!.copy(out, at);
    at = writeValue(out, at, value);
  }
  out[at++] = correlationIdSize;
  at += out.write(props.correlationId, at, 'utf8');
  at += replyTo.copy(out, at);
  if (expiration !== undefined) {
    out[at++] = expirationSize;
    at += out.write(expiration, at, 'utf8');
  }
  at += type.copy(out, at);
  at += userId.copy(out, at);
  out[at++] = FRAME_END;
  if (body.length > 0) {
    at = out.writeUInt8(FRAME_BODY, at);
    at = out.writeUInt16BE(ch, at);
    at = out.writeUInt32BE(body.length, at);
    at += body.copy(out, at);
    out[at++] = FRAME_END;
  }
  return out;
}

/** amqplib's internals this writes through (0.10.x); checked before each use. */
interface RawChannel {
  ch: number;
  connection: RawConnection;
  pushConfirmCallback(cb: unknown): void;
}
interface RawConnection {
  channels: Array<{ buffer?: { write(bytes: Buffer): boolean } } | undefined>;
  frameMax: number;
  sentSinceLastCheck: boolean;
}

/**
 * Publish a request on a confirm channel as `channel.publish('', queue, body, {...props,
 * mandatory: true}, confirmed)` does, through the channel's own write buffer (so frames keep
 * their order with amqplib's, and the muxer writes them); false when it cannot (another amqplib
 * layout, a channel or connection amqplib has closed for sending, what encodePublish refuses):
 * the caller publishes through amqplib then, which throws where amqplib throws.
 */
export function publishDirect(
  channel: amqp.ConfirmChannel,
  queue: string,
  body: Buffer,
  props: RequestProperties,
  confirmed: (error: unknown) => void,
): boolean {
  const raw = channel as unknown as RawChannel;
  const connection = raw.connection;
  // amqplib replaces sendMessage on the instance when the channel or connection is closing.
  if (
    typeof raw.ch !== 'number' ||
    typeof raw.pushConfirmCallback !== 'function' ||
    connection === undefined ||
    Object.prototype.hasOwnProperty.call(channel, 'sendMessage') ||
    Object.prototype.hasOwnProperty.call(connection, 'sendMessage') ||
    typeof connection.frameMax !== 'number'
  ) {
    return false;
  }
  const buffer = connection.channels?.[raw.ch]?.buffer;
  if (buffer === undefined || typeof buffer.write !== 'function') return false;
  const frames = encodePublish(raw.ch, connection.frameMax, queue, body, props);
  if (frames === null) return false;
  raw.pushConfirmCallback(confirmed);
  connection.sentSinceLastCheck = true;
  buffer.write(frames);
  return true;
}
