#!/usr/bin/env node
// Slow streaming provider for the concurrent-streams test: answers
//   POST /drip/v1/chat/completions  (OpenAI chunks)
//   POST /drip/v1/messages          (Anthropic events)
// with a chunked text/event-stream that sends one event per --interval-ms,
// --events events in total, the last ones closing the stream properly.
// Events come from the canned streams in bench/payloads.
//   node drip-mock.mjs --port P [--events 10] [--interval-ms 1000]
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const port = Number(arg('--port'));
const eventCount = Math.max(3, Number(arg('--events', '10')));
const intervalMs = Number(arg('--interval-ms', '1000'));
const payloads = join(dirname(fileURLToPath(import.meta.url)), '..', 'payloads');
const splitEvents = (text) => text.split('\n\n').filter((e) => e.length > 0).map((e) => e + '\n\n');

// OpenAI: role chunk and text deltas, then a finish chunk, the usage chunk, [DONE].
function openaiEvents() {
  const all = splitEvents(readFileSync(join(payloads, 'openai-stream.sse'), 'utf8'));
  const finish = all[99].replace('"finish_reason":"tool_calls"', '"finish_reason":"stop"');
  const tail = [finish, all[all.length - 2], all[all.length - 1]];
  return [...all.slice(0, eventCount - tail.length), ...tail];
}
// Anthropic: message_start, text block start and deltas, then the text block's
// stop, message_delta and message_stop.
function anthropicEvents() {
  const all = splitEvents(readFileSync(join(payloads, 'anthropic-stream.sse'), 'utf8'));
  const stop0 = all.find((e) => e.startsWith('event: content_block_stop') && e.includes('"index":0'));
  const tail = [stop0, all[all.length - 2].replace('"tool_use"', '"end_turn"'), all[all.length - 1]];
  return [...all.slice(0, Math.max(2, eventCount - tail.length)), ...tail];
}
const streams = { '/drip/v1/chat/completions': openaiEvents(), '/drip/v1/messages': anthropicEvents() };

const server = http.createServer((req, res) => {
  const events = streams[req.url.split('?')[0]];
  req.resume(); // discard the request body
  if (req.method !== 'POST' || !events) { res.writeHead(404).end(); return; }
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let next = 0;
    const send = () => {
      if (res.destroyed) return;
      res.write(events[next++]);
      if (next === events.length) { res.end(); return; }
      setTimeout(send, intervalMs);
    };
    send();
  });
});
server.keepAliveTimeout = 5000;
server.headersTimeout = 10000;
server.requestTimeout = 0;
server.listen(port, '127.0.0.1', 8192, () => console.error(`drip-mock listening on 127.0.0.1:${port}`));
const stop = () => { server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
