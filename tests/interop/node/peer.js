// A leveret peer in Node.js, written from docs/wire-protocol.md alone (amqplib, no leveret code).
//
//   node peer.js client <amqp-url> <queue>   calls a leveret worker of the test's Numbers
//                                            service; prints one JSON line of what it got
//   node peer.js server <amqp-url> <queue>   serves Numbers for a leveret client; prints
//                                            "ready", then one JSON line per request
//
// Driven by tests/interop/test_node_peer.py.
'use strict';

const amqp = require('amqplib');
const crypto = require('crypto');

const REPLY_TO = 'amq.rabbitmq.reply-to';

async function client(url, queue) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const pending = new Map();
  // Direct reply-to: consume in no-ack mode on the channel that publishes, before publishing.
  await ch.consume(
    REPLY_TO,
    (msg) => {
      const cid = msg.properties.correlationId;
      const waiting = pending.get(cid);
      if (!waiting) return; // a late or unknown reply: dropped
      pending.delete(cid);
      const headers = msg.properties.headers || {};
      const status = String(headers['rpc-status'] || 'UNKNOWN');
      waiting({ status, body: JSON.parse(msg.content.toString('utf8')) });
    },
    { noAck: true },
  );
  ch.on('return', (msg) => {
    const waiting = pending.get(msg.properties.correlationId);
    if (waiting) {
      pending.delete(msg.properties.correlationId);
      waiting({ status: 'UNAVAILABLE', body: { message: 'no route' } });
    }
  });

  // One call: `body` is sent as given (a string), so that the test can send what
  // JSON.stringify never writes (NaN, 1e400).
  function call(method, body, attempt, timeoutMs = 5000) {
    const cid = crypto.randomBytes(16).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(cid);
        resolve({ status: 'DEADLINE_EXCEEDED', body: null });
      }, timeoutMs);
      pending.set(cid, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      const headers = { 'rpc-deadline': Date.now() + timeoutMs };
      if (attempt !== undefined) headers['rpc-attempt'] = attempt;
      ch.publish('', queue, Buffer.from(body, 'utf8'), {
        contentType: 'application/json',
        correlationId: cid,
        replyTo: REPLY_TO,
        type: method,
        expiration: String(timeoutMs),
        headers,
        mandatory: true,
      });
    });
  }

  const results = {
    add: await call('add', JSON.stringify({ a: 20, b: 22 }), 1),
    first: await call('seen', '{}', 1),
    retry: await call('seen', '{}', 3),
    no_attempt: await call('seen', '{}', undefined),
    nan: await call('add', '{"a": NaN, "b": 1}', 1),
    infinity: await call('add', '{"a": 1, "b": -Infinity}', 1),
    overflow: await call('add', '{"a": 1e400, "b": 1}', 1),
    huge_integer: await call('add', `{"a": 1, "b": ${'9'.repeat(400)}}`, 1),
    stringify_nan: await call('add', JSON.stringify({ a: NaN, b: 1 }), 1), // {"a":null,...}
    sum_overflows: await call('add', '{"a": 1e308, "b": 1e308}', 1),
  };
  process.stdout.write(JSON.stringify(results) + '\n');
  await conn.close();
}

async function server(url, queue) {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false });
  await ch.prefetch(1);

  function reply(msg, status, body) {
    ch.sendToQueue(msg.properties.replyTo, Buffer.from(body, 'utf8'), {
      contentType: 'application/json',
      correlationId: msg.properties.correlationId,
      headers: { 'rpc-status': status },
    });
    ch.ack(msg);
  }

  function error(msg, code, message) {
    reply(msg, code, JSON.stringify({ code, message, error: null, details: null }));
  }

  await ch.consume(
    queue,
    (msg) => {
      const props = msg.properties;
      const headers = props.headers || {};
      const attempt = headers['rpc-attempt'];
      process.stdout.write(
        JSON.stringify({ method: props.type, attempt, correlation_id: props.correlationId }) + '\n',
      );
      let request;
      try {
        request = JSON.parse(msg.content.toString('utf8'));
      } catch (e) {
        error(msg, 'INVALID_ARGUMENT', `${props.type}: request failed validation: (body): ${e}`);
        return;
      }
      if (props.type === 'add') {
        if (!Number.isFinite(request.a) || !Number.isFinite(request.b)) {
          error(msg, 'INVALID_ARGUMENT', 'add: request failed validation: a or b is not a number');
        } else if (request.a === -1) {
          reply(msg, 'OK', '{"value": NaN}'); // a broken server: the client must refuse it
        } else if (request.a === -2) {
          reply(msg, 'OK', '{"value": 1e400}');
        } else {
          const value = request.a + request.b;
          if (!Number.isFinite(value)) {
            // JSON.stringify would write null: JSON has no infinity (wire-protocol.md).
            error(msg, 'INTERNAL', `internal error in add (correlation id ${props.correlationId})`);
          } else {
            reply(msg, 'OK', JSON.stringify({ value }));
          }
        }
      } else if (props.type === 'flaky') {
        if (!(attempt >= 3)) {
          error(msg, 'UNAVAILABLE', 'warming up');
        } else {
          reply(msg, 'OK', JSON.stringify({ attempt: attempt - 1, header: attempt }));
        }
      } else if (props.type === 'seen') {
        reply(msg, 'OK', JSON.stringify({ attempt: (attempt || 1) - 1, header: attempt }));
      } else {
        error(msg, 'UNIMPLEMENTED', `Numbers has no method '${props.type}'`);
      }
    },
    { noAck: false },
  );
  process.stdout.write('ready\n');
  process.on('SIGTERM', async () => {
    await conn.close();
    process.exit(0);
  });
}

const [mode, url, queue] = process.argv.slice(2);
const run = mode === 'server' ? server : client;
run(url, queue).catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
