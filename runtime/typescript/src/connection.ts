// Broker addresses, backoff and connecting (runtime/leveret/_amqp/_connection.py, _backoff.py).

import { Writable } from 'node:stream';

import * as amqp from 'amqplib';

import { ConfigurationError, Unavailable } from './errors';

export const DEFAULT_URL = 'amqp://guest:guest@127.0.0.1:5672/%2F';

/** The broker addresses of `url` (comma-separated), else of AMQP_URL, else the default. */
export function resolveUrls(url?: string): string[] {
  const text = url ?? process.env.AMQP_URL ?? DEFAULT_URL;
  const urls = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (urls.length === 0) throw new ConfigurationError('no broker URL given');
  for (const item of urls) {
    let parsed: URL;
    try {
      parsed = new URL(item);
    } catch {
      throw new ConfigurationError(`not a broker URL: ${redact(item)}`);
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
      throw new ConfigurationError(`a broker URL starts with amqp:// or amqps://, not ${redact(item)}`);
    }
  }
  return urls;
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable URL>';
  }
}

/** The user a PLAIN login with `url` logs in as (amqplib's default is guest). */
export function loginOf(url: string): string {
  const parsed = new URL(url);
  return parsed.username ? decodeURIComponent(parsed.username) : 'guest';
}

export interface ConnectResult {
  connection: amqp.ChannelModel;
  url: string;
}

/** One round over the addresses, in order; Unavailable naming the last failure. */
export async function connectAny(urls: readonly string[], name: string | undefined): Promise<ConnectResult> {
  let last: unknown = null;
  let lastUrl = urls[0]!;
  for (const url of urls) {
    try {
      // noDelay: amqplib leaves Nagle's algorithm on, and an RPC's small writes (a reply and then
      // its ack, a request while the last one is unacknowledged) then wait for the peer's delayed
      // ACK, ~40 ms each (docs/performance.md, issue 13). pika, and so the Python runtime, sets it.
      const options: Record<string, unknown> = { noDelay: true };
      if (name) options.clientProperties = { connection_name: name };
      const connection = await amqp.connect(url, options);
      coalesceWrites(connection);
      // At once: an 'error' event with no listener would throw out of the process; 'close' follows
      // it, and the owner handles that.
      connection.on('error', () => undefined);
      return { connection, url };
    } catch (error) {
      last = error;
      lastUrl = url;
    }
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new Unavailable(`cannot reach RabbitMQ at ${redact(lastUrl)}: ${reason}`, null, { origin: 'local', cause: last });
}

/**
 * Join the frames one turn of the event loop writes into one socket write. amqplib writes every
 * frame (each publish, ack, reply) with its own `socket.write`, and with Nagle off each is a
 * syscall that pushes a segment through to the broker: 64 calls in flight cost 64 of them per
 * turn, a third of the client's CPU in a profile (docs/performance.md, issue 13). The socket is
 * corked at the first write of a turn and uncorked on the next tick, so whatever amqplib's muxer
 * writes in one go leaves in one writev, and nothing waits past the end of the current turn.
 */
function coalesceWrites(connection: amqp.ChannelModel): void {
  const socket = (connection as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  if (!(socket instanceof Writable)) return; // another amqplib layout: its own writes, as they are
  const write = socket.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Writable, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Writable['write'];
}
