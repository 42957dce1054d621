// A TypeScript client and server on the generated shop package, for
// tests/interop/test_cross_language.py (which builds it once per session: see its `ts` fixture).
//
//   node dist/driver.js server <url> <queue>             serves Inventory, prints "ready", then
//                                                        one JSON line per event of a handler
//   node dist/driver.js client <url> <queue> <scenario>  one JSON line per call outcome
//
// The server mirrors the Python servicer of the test file: a note "sleep:<ms>" makes a first
// delivery take that long (a redelivered one answers at once), an SKU starting with ZZZ is out of
// stock with `quantity - 1` available, and a reservation's status names the language ("held").
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

import * as leveret from 'leveret';

import { CalculatorClient } from './generated/calculator/index.js';
import {
  InventoryClient,
  OutOfStock,
  serve,
  type InventoryServicer,
  type Reservation,
} from './generated/shop/index.js';

function emit(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// ---- server ----

const servicer: InventoryServicer = {
  async reserve(request, context): Promise<Reservation> {
    const event = { quantity: request.quantity, correlation_id: context.correlationId };
    emit({
      event: 'handling',
      ...event,
      note: request.note ?? null,
      redelivered: context.redelivered,
      attempt: context.attempt,
      metadata: context.metadata,
      drift: context.contractDrift !== null,
    });
    const sleep = /^sleep:(\d+)$/.exec(request.note ?? '');
    if (sleep !== null && !context.redelivered) await delay(Number(sleep[1]));
    emit({ event: 'done', ...event });
    if (request.sku.startsWith('ZZZ')) {
      const available = request.quantity - 1;
      throw new OutOfStock(`only ${available} of ${request.sku} left`, { available });
    }
    return {
      id: randomUUID(),
      sku: request.sku,
      quantity: request.quantity,
      status: 'held',
      price: { amount: 250 * request.quantity, currency: 'EUR' },
    };
  },
};

async function server(url: string, queue: string): Promise<void> {
  const worker = await serve(servicer, { url, queue });
  process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
  process.stdout.write('ready\n');
}

// ---- client ----

/** What a failed call rejected with, as the Python side checks it. */
function failure(error: unknown): Record<string, unknown> {
  if (!(error instanceof leveret.RpcError)) throw error;
  return {
    error: error.constructor.name,
    status: error.status,
    message: error.message,
    details: error.details,
    origin: error.origin,
    never_sent: error.neverSent,
    remote_error: error.remoteError,
    // Typed access: `details` is OutOfStockDetails here, no cast.
    available: error instanceof OutOfStock ? error.details.available : null,
  };
}

async function outcome(call: Promise<Reservation>): Promise<Record<string, unknown>> {
  const started = performance.now();
  try {
    return { ok: await call, elapsed_ms: performance.now() - started };
  } catch (error) {
    return { ...failure(error), elapsed_ms: performance.now() - started };
  }
}

function nextLine(): Promise<string> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', (line) => {
      lines.close();
      process.stdin.destroy(); // one line is all it reads: stdin must not keep node running
      resolve(line);
    });
  });
}

const SKU = 'ABC-1234';

const scenarios: Record<
  string,
  (client: InventoryClient, url: string, queue: string) => Promise<void>
> = {
  async roundtrip(client) {
    const request = { sku: SKU, quantity: 2, note: 'round trip' };
    emit(await outcome(client.reserve(request, { metadata: { tenant: 'acme' } })));
  },
  async declared(client) {
    emit(await outcome(client.reserve({ sku: 'ZZZ-0001', quantity: 5 })));
  },
  async invalid(client) {
    // Type-correct, but the pattern and the minimum refuse it: stopped before it is sent.
    emit(await outcome(client.reserve({ sku: 'abc', quantity: 0 })));
    emit(await outcome(client.reserve({ sku: SKU, quantity: 1, note: 'after the invalid one' })));
  },
  async unimplemented(_client, url, queue) {
    // A client of another contract on this queue: its method is unknown to the server.
    const calculator = await CalculatorClient.connect(url, { queue });
    try {
      emit(await calculator.add({ a: 1, b: 2 }).then((ok) => ({ ok }), failure));
    } finally {
      await calculator.close();
    }
  },
  async deadline(client) {
    emit(
      await outcome(
        client.reserve({ sku: SKU, quantity: 3, note: 'sleep:1500' }, { timeout: 0.5 }),
      ),
    );
    // The test answers once that call's handler has returned (its late reply follows it).
    emit({ event: 'waiting' });
    await nextLine();
    emit(await outcome(client.reserve({ sku: SKU, quantity: 7 }, { timeout: 5 })));
  },
  async unavailable(client) {
    emit(await outcome(client.reserve({ sku: SKU, quantity: 1 })));
  },
  async concurrent(client) {
    // The first calls sleep longest: replies come back in about the reverse order.
    const completed: number[] = [];
    const calls = Array.from({ length: 64 }, (_, i) =>
      client
        .reserve({ sku: SKU, quantity: i + 1, note: `sleep:${(64 - i) * 4}` }, { timeout: 20 })
        .then((reservation) => {
          completed.push(i + 1);
          return { sent: i + 1, got: reservation.quantity, id: reservation.id };
        }),
    );
    emit({ ok: await Promise.all(calls), completed });
  },
  async slow(client) {
    emit(
      await outcome(
        client.reserve({ sku: SKU, quantity: 9, note: 'sleep:60000' }, { timeout: 30 }),
      ),
    );
  },
};

async function client(url: string, queue: string, scenario: string): Promise<void> {
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`no scenario ${scenario}`);
  const client = await InventoryClient.connect(url, { queue });
  try {
    await run(client, url, queue);
  } finally {
    await client.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [role, url, queue, scenario] = argv;
  if (role === 'server' && url && queue) return server(url, queue);
  if (role === 'client' && url && queue && scenario) return client(url, queue, scenario);
  throw new Error('usage: driver.js server <url> <queue> | client <url> <queue> <scenario>');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
