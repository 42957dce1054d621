// A content header whose headers table amqplib cannot decode must cost that message only.
//
// amqplib decodes a table recursively (lib/codec.js decodeFields) and throws on what it cannot
// read (a table nested a few thousand deep overflows the stack; an unknown type tag is a
// TypeError). The throw happens while reading frames, so amqplib drops the whole connection; the
// broker then redelivers the message to the next connection, which drops too, forever: one
// published message stops a worker (or a client's reply consumer) for good. As the Python
// runtime does (runtime/leveret/_amqp/_connection.py, _header_without_table), such a header is
// decoded again without its table, and its properties carry the reason instead
// (docs/wire-protocol.md §3 case 1a; a client reads it as `undecodable reply`).
//
// amqplib's Connection reads frames in recvFrame, which calls frame.js's decodeFrame through a
// binding captured when the module loaded: the method is the one place to intercept. Installed
// once per amqplib copy, on import of this module.

/** The key, on a message's properties, of why its headers table could not be decoded. */
export const UNDECODABLE = Symbol.for('leveret.undecodable-properties');

const FRAME_HEADER = 2;
const BASIC_CLASS = 60;
// Basic property flags before and at the headers table; bit 0 says more flag words follow.
const CONTENT_TYPE = 0x8000;
const CONTENT_ENCODING = 0x4000;
const HEADERS = 0x2000;

interface RawFrame {
  type: number;
  channel: number;
  size: number;
  payload: Buffer;
  rest: Buffer;
}

interface FrameModule {
  parseFrame(bin: Buffer): RawFrame | false;
  decodeFrame(frame: RawFrame): unknown;
}

interface DefsModule {
  decode(id: number, buffer: Buffer): Record<string | symbol, unknown>;
}

interface ConnectionState {
  rest: Buffer;
  stream: { read(): Buffer | null };
  recvSinceLastCheck: boolean;
}

type ConnectionPrototype = { recvFrame?: unknown; [PATCHED]?: boolean };

const PATCHED = Symbol.for('leveret.amqplib-recvframe-patched');

/** Why `properties` (a message's, from amqplib) could not be decoded; null when they could. */
export function undecodableReason(properties: object): string | null {
  const reason = (properties as Record<symbol, unknown>)[UNDECODABLE];
  return typeof reason === 'string' ? reason : null;
}

/** The reason a decoding failure gives, worded as the Python runtime words it. */
function reasonOf(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return `cannot decode the headers table: ${name}: ${message}`;
}

/**
 * The decoded content header `frame` would be without its headers table, its properties marked
 * with the reason `error` gives; throws `error` if the frame is no basic content header with a
 * table, or if it still cannot be decoded.
 */
export function headerWithoutTable(defs: DefsModule, frame: RawFrame, error: unknown): unknown {
  let decoded: { id: number; channel: number; size: number; fields: Record<string | symbol, unknown> };
  try {
    const payload = frame.payload;
    if (frame.type !== FRAME_HEADER || payload.readUInt16BE(0) !== BASIC_CLASS) throw error;
    const flags = payload.readUInt16BE(12);
    if (flags & 1 || !(flags & HEADERS)) throw error;
    let pos = 14;
    for (const flag of [CONTENT_TYPE, CONTENT_ENCODING]) {
      if (flags & flag) pos += 1 + payload.readUInt8(pos);
    }
    const tableEnd = pos + 4 + payload.readUInt32BE(pos);
    if (tableEnd > payload.length) throw error;
    const word = Buffer.alloc(2);
    word.writeUInt16BE(flags & ~HEADERS);
    const rest = Buffer.concat([word, payload.subarray(14, pos), payload.subarray(tableEnd)]);
    const fields = defs.decode(BASIC_CLASS, rest);
    decoded = { id: BASIC_CLASS, channel: frame.channel, size: Number(payload.readBigUInt64BE(4)), fields };
  } catch {
    throw error;
  }
  decoded.fields[UNDECODABLE] = reasonOf(error);
  return decoded;
}

/** Install the patch on the amqplib `amqplib` resolves to; true when it is (or was) installed. */
export function installTableGuard(): boolean {
  let proto: ConnectionPrototype;
  let frames: FrameModule;
  let defs: DefsModule;
  try {
    proto = (require('amqplib/lib/connection') as { Connection: { prototype: ConnectionPrototype } }).Connection
      .prototype;
    frames = require('amqplib/lib/frame') as FrameModule;
    defs = require('amqplib/lib/defs') as DefsModule;
  } catch {
    return false; // another amqplib layout: left as it is
  }
  if (proto[PATCHED]) return true;
  if (
    typeof proto.recvFrame !== 'function' ||
    typeof frames.parseFrame !== 'function' ||
    typeof frames.decodeFrame !== 'function' ||
    typeof defs.decode !== 'function'
  ) {
    return false;
  }
  // amqplib 0.10's recvFrame, but a header it cannot decode is read without its table.
  proto.recvFrame = function recvFrame(this: ConnectionState): unknown {
    for (;;) {
      const frame = frames.parseFrame(this.rest);
      if (!frame) {
        const incoming = this.stream.read();
        if (incoming === null) return false;
        this.recvSinceLastCheck = true;
        this.rest = Buffer.concat([this.rest, incoming]);
        continue;
      }
      this.rest = frame.rest;
      try {
        return frames.decodeFrame(frame);
      } catch (error) {
        return headerWithoutTable(defs, frame, error);
      }
    }
  };
  proto[PATCHED] = true;
  return true;
}

installTableGuard();
