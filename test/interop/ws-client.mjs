// Drives Node's `ws` client against a WebSocket echo server for the interop tests.
// Usage: node ws-client.mjs <config.json>
// config: { "url": "ws://...", "perMessageDeflate": false | {ws PerMessageDeflate options}, "timeoutMs": 30000,
//           "messages": [{ "file": "/abs/path", "text": true }, ...] }
// Sends each message in turn, waits for its echo, checks it byte-exact and of the same type, closes with 1000, and
// prints one JSON line: { ok, extensions, messages, error? }. Exit code 0 only if every echo matched.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const summary = { ok: false, extensions: null, messages: 0 };

function finish(error) {
  if (error) summary.error = String(error && error.stack ? error.stack : error);
  console.log(JSON.stringify(summary));
  process.exit(summary.ok ? 0 : 1);
}

setTimeout(() => finish(new Error(`timed out after ${config.timeoutMs} ms`)), config.timeoutMs ?? 30000).unref();

const socket = new WebSocket(config.url, { perMessageDeflate: config.perMessageDeflate, maxPayload: 0 });
socket.on('upgrade', (response) => {
  summary.extensions = response.headers['sec-websocket-extensions'] ?? null;
});
socket.on('error', (error) => finish(error));
socket.on('unexpected-response', (_request, response) => finish(new Error(`HTTP ${response.statusCode}`)));

const pending = [];
socket.on('message', (data, isBinary) => {
  const waiter = pending.shift();
  if (!waiter) return finish(new Error('an unexpected message arrived'));
  waiter({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary });
});

socket.on('close', (code) => {
  if (summary.messages === config.messages.length && code === 1000) {
    summary.ok = true;
    finish();
  } else {
    finish(new Error(`closed with ${code} after ${summary.messages} of ${config.messages.length} messages`));
  }
});

socket.on('open', async () => {
  try {
    for (const [index, message] of config.messages.entries()) {
      const payload = readFileSync(message.file);
      const echoed = new Promise((resolve) => pending.push(resolve));
      socket.send(message.text ? payload.toString('utf8') : payload, { binary: !message.text });
      const { data, isBinary } = await echoed;
      if (isBinary === message.text) {
        throw new Error(`message ${index}: sent ${message.text ? 'text' : 'binary'}, echoed ${isBinary ? 'binary' : 'text'}`);
      }
      if (!data.equals(payload)) {
        throw new Error(`message ${index} (${message.file}): echo of ${data.length} bytes differs from the ${payload.length} sent`);
      }
      summary.messages++;
    }
    socket.close(1000, 'done');
  } catch (error) {
    finish(error);
  }
});
