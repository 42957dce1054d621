// The Node side of bench/ts_bench.py: the generated TypeScript CalculatorClient against a raw
// amqplib RPC client written by hand, on the same queue, in one process.
//
//   node build/dist/bench.js worker <url> <queue>    serves Calculator (generated `serve`,
//                                                    concurrency 64), prints "ready"
//   node build/dist/bench.js client <url> <json>     runs the rounds the JSON describes, prints
//                                                    one JSON line per sample, then "done"
//
// Both clients run the same driver: `inflight` lanes, each calling in a loop until `calls` calls
// have been made, request {"a": i, "b": 2}, the answer checked to be i + 2.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import * as amqp from 'amqplib';

import { CalculatorClient, serve } from './generated/calculator/index.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

function emit(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// ---- worker ----

async function worker(url: string, queue: string): Promise<void> {
  const running = await serve(
    {
      add: (request) => ({ value: request.a + request.b }),
      divide: (request) => ({ value: request.a / request.b }),
      sum: (request) => ({ value: request.values.reduce((x, y) => x + y, 0) }),
    },
    { url, queue, concurrency: 64, logCalls: false },
  );
  process.once('SIGTERM', () => void running.close().then(() => process.exit(0)));
  process.stdout.write('ready\n');
}

// ---- clients ----

interface Caller {
  add(a: number, b: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * What a hand-written amqplib RPC client does: one channel, direct reply-to consumed no-ack
 * before the first publish, a correlation id per call, replies matched through a map. No
 * publisher confirms, no deadline, no validation: the floor a library is measured against.
 */
class RawClient implements Caller {
  private readonly pending = new Map<string, (body: Buffer) => void>();

  private constructor(
    private readonly connection: amqp.ChannelModel,
    private readonly channel: amqp.Channel,
    private readonly queue: string,
  ) {}

  static async open(url: string, queue: string): Promise<RawClient> {
    const connection = await amqp.connect(url);
    const channel = await connection.createChannel();
    const client = new RawClient(connection, channel, queue);
    await channel.consume(
      REPLY_TO,
      (msg) => {
        if (msg === null) return;
        const cid = msg.properties.correlationId as string;
        const done = client.pending.get(cid);
        if (done === undefined) return;
        client.pending.delete(cid);
        done(msg.content);
      },
      { noAck: true },
    );
    return client;
  }

  add(a: number, b: number): Promise<number> {
    return new Promise((resolve) => {
      const cid = randomUUID();
      this.pending.set(cid, (body) => resolve((JSON.parse(body.toString()) as { value: number }).value));
      this.channel.publish('', this.queue, Buffer.from(JSON.stringify({ a, b })), {
        correlationId: cid,
        replyTo: REPLY_TO,
        contentType: 'application/json',
        type: 'add', // the method: a leveret worker answers UNIMPLEMENTED without it
      });
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

class LeveretCaller implements Caller {
  private constructor(private readonly client: CalculatorClient) {}

  static async open(url: string, queue: string): Promise<LeveretCaller> {
    return new LeveretCaller(await CalculatorClient.connect(url, { queue }));
  }

  async add(a: number, b: number): Promise<number> {
    return (await this.client.add({ a, b })).value;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** CPU seconds (user + system) of process `pid` so far, from /proc; null where there is none. */
function procCpu(pid: number, ticks: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return null;
  }
}

interface Run {
  seconds: number;
  cpu: number;
  latencies: number[];
}

async function drive(caller: Caller, calls: number, inflight: number): Promise<Run> {
  let issued = 0;
  const latencies: number[] = new Array<number>(calls);
  const lane = async (): Promise<void> => {
    while (issued < calls) {
      const i = issued++;
      const t0 = performance.now();
      const value = await caller.add(i, 2);
      latencies[i] = performance.now() - t0;
      if (value !== i + 2) throw new Error(`call ${i}: got ${value}, not ${i + 2}`);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inflight, calls) }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6, latencies };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Target {
  worker: string;
  queue: string;
  pid: number;
}

interface Plan {
  targets: Target[];
  rounds: number;
  calls: Record<string, number>; // per in-flight level
  warmup: number;
  inflight: number[];
  clients: string[];
  /** Clock ticks per second of /proc's CPU times (the driver's os.sysconf('SC_CLK_TCK')). */
  ticks: number;
}

async function client(url: string, planText: string): Promise<void> {
  const plan = JSON.parse(planText) as Plan;
  const callers = new Map<string, Caller>();
  for (const target of plan.targets) {
    for (const kind of plan.clients) {
      const open = kind === 'raw' ? RawClient.open : LeveretCaller.open;
      callers.set(`${kind}:${target.worker}`, await open(url, target.queue));
    }
  }
  const cases: { target: Target; kind: string; inflight: number }[] = [];
  for (const target of plan.targets) {
    for (const inflight of plan.inflight) {
      for (const kind of plan.clients) cases.push({ target, kind, inflight });
    }
  }
  // Warm-up: JIT, the connections' buffers, the workers' first calls.
  for (const c of cases) await drive(callers.get(`${c.kind}:${c.target.worker}`)!, plan.warmup, c.inflight);
  for (let round = 0; round < plan.rounds; round++) {
    // Interleaved, and in the opposite order every other round: a slow spell of the shared
    // machine hits both clients of a pair alike, and neither always goes first.
    const order = round % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const calls = plan.calls[String(c.inflight)]!;
      const server0 = procCpu(c.target.pid, plan.ticks);
      const run = await drive(callers.get(`${c.kind}:${c.target.worker}`)!, calls, c.inflight);
      const server1 = procCpu(c.target.pid, plan.ticks);
      const sorted = run.latencies.sort((x, y) => x - y);
      emit({
        round,
        worker: c.target.worker,
        client: c.kind,
        inflight: c.inflight,
        calls,
        seconds: run.seconds,
        client_cpu: run.cpu,
        server_cpu: server0 === null || server1 === null ? null : server1 - server0,
        p50_ms: quantile(sorted, 0.5),
        p99_ms: quantile(sorted, 0.99),
      });
    }
  }
  for (const caller of callers.values()) await caller.close();
  process.stdout.write('done\n');
}

const [mode, url, arg] = process.argv.slice(2);
if (mode === 'worker' && url && arg) {
  worker(url, arg).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if (mode === 'client' && url && arg) {
  client(url, arg).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  console.error('usage: bench.js worker URL QUEUE | client URL PLAN_JSON');
  process.exit(2);
}
