#!/usr/bin/env node
// Mock LLM providers for llmproxy's integration tests, and the quickstart's
// offline demo provider.
//
// As a library:
//   const mock = await startMockProvider({ format: 'openai' | 'anthropic', port: 0 });
//   mock.baseUrl       // what `llmproxy-ctl provider add --base-url` wants for this dialect
//   mock.requests      // every request received: {method, url, path, query, headers, raw, body, ...}
//   mock.enqueue(s)    // scenario for the next request (queue, consumed one per request)
//   mock.setDefault(s) // scenario when the queue is empty (initially {type: 'demo'})
//   await mock.close()
//
// As a program (offline demo provider, never calls anything):
//   node scripts/mock-provider.mjs --format openai|anthropic --port N [--host 127.0.0.1]
//
// Scenarios are plain data (or a function (request) => scenario, for replies that
// depend on the request). Every scenario may carry `headersDelayMs` (stall before
// the status line is written). Types:
//   {type: 'demo'}      a short labelled reply in the provider's dialect; streams when
//                       the request body has "stream": true
//   {type: 'json', status = 200, headers, body}       body: object (serialised) or string
//   {type: 'sse', status = 200, headers, events: [{event?, data, delayMs?} | {comment}
//        | {raw, delayMs?}], end: 'close' | 'destroy' | 'hang', endDelayMs}
//                       data: object (serialised) or string (sent as is, e.g. '[DONE]');
//                       delayMs is waited before that event is written
//   {type: 'raw', status = 200, headers, chunks: [{data: string | Buffer, delayMs?}], end}
//                       body bytes written exactly as given, one write per chunk, so a
//                       split may fall inside a JSON string or a UTF-8 sequence
//   {type: 'socket', chunks: [...], end}
//                       bytes written straight to the TCP socket (status line included),
//                       for malformed or unusual HTTP framing
//   {type: 'destroy'}   reset the connection without answering
//   {type: 'hang'}      never answer (until the peer or close() ends the connection)
// `end`: 'close' (default) ends the response properly, 'destroy' resets the socket
// after the last chunk (a stream cut mid-way), 'hang' leaves it open.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function randomId(prefix, length = 24) {
  return prefix + randomBytes(length).toString('base64url').slice(0, length);
}

// ---------------------------------------------------------------- SSE framing

// One SSE event as bytes. `data` objects are serialised as one line of JSON.
export function sseFrame({ event, data, comment } = {}) {
  if (comment !== undefined) return `: ${comment}\n\n`;
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  let out = event ? `event: ${event}\n` : '';
  for (const line of text.split('\n')) out += `data: ${line}\n`;
  return out + '\n';
}

export function sseBody(events) {
  return events.map(sseFrame).join('');
}

// Splits `text` into `pieces` consecutive parts (for realistic deltas).
function splitText(text, pieces) {
  if (Array.isArray(text)) return text;
  if (!text) return [];
  const words = text.split(/(?<= )/);
  const n = Math.max(1, Math.min(pieces, words.length));
  const per = Math.ceil(words.length / n);
  const parts = [];
  for (let i = 0; i < words.length; i += per) parts.push(words.slice(i, i + per).join(''));
  return parts;
}

// Splits a string into fragments of at most `size` characters.
export function fragment(text, size = 7) {
  const parts = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return parts.length ? parts : [''];
}

// ---------------------------------------------------------------- OpenAI shapes
//
// Tool calls are given as {id?, name, arguments: object | string, fragments?: string[]}.

function openaiToolArgs(tool) {
  return typeof tool.arguments === 'string' ? tool.arguments : JSON.stringify(tool.arguments ?? {});
}

function openaiUsage(usage) {
  const prompt = usage?.prompt_tokens ?? 11;
  const completion = usage?.completion_tokens ?? 7;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...usage };
}

// A non-streaming chat.completion object.
export function openaiCompletion({
  model = 'gpt-mock', text = 'Hello from the mock.', reasoning, reasoningField = 'reasoning_content',
  toolCalls = [], finishReason, usage, id = randomId('chatcmpl-'), created = 1700000000,
} = {}) {
  const message = { role: 'assistant', content: text ?? null };
  if (reasoning !== undefined) message[reasoningField] = reasoning;
  if (toolCalls.length) {
    message.tool_calls = toolCalls.map((t, i) => ({
      id: t.id ?? `call_${i}_${randomId('', 8)}`, type: 'function',
      function: { name: t.name, arguments: openaiToolArgs(t) },
    }));
  }
  return {
    id, object: 'chat.completion', created, model, system_fingerprint: 'fp_mock',
    choices: [{ index: 0, message, logprobs: null,
      finish_reason: finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop') }],
    usage: openaiUsage(usage),
  };
}

// The chat.completion.chunk sequence of a streamed reply, ending with '[DONE]'.
// usage: 'finish' (on the finish chunk), 'trailing' (an extra chunk with
// choices: [] as with stream_options.include_usage), or 'none'.
// Tool call argument fragments of different tools are interleaved by index.
export function openaiChunks({
  model = 'gpt-mock', text = 'Hello from the mock.', pieces = 3, reasoning,
  reasoningField = 'reasoning_content', toolCalls = [], finishReason, usage = 'trailing',
  usageCounts, id = randomId('chatcmpl-'), created = 1700000000, done = true,
} = {}) {
  const chunk = (delta, finish = null, extra = {}) => ({
    id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra,
  });
  const events = [chunk({ role: 'assistant', content: '' })];
  for (const part of splitText(reasoning, pieces)) events.push(chunk({ [reasoningField]: part }));
  for (const part of splitText(text, pieces)) events.push(chunk({ content: part }));
  const tools = toolCalls.map((t, i) => ({
    index: i, id: t.id ?? `call_${i}_${randomId('', 8)}`, name: t.name,
    fragments: t.fragments ?? fragment(openaiToolArgs(t)),
  }));
  for (const t of tools) {
    events.push(chunk({ tool_calls: [{ index: t.index, id: t.id, type: 'function',
      function: { name: t.name, arguments: '' } }] }));
  }
  const longest = Math.max(0, ...tools.map((t) => t.fragments.length));
  for (let f = 0; f < longest; f++) {
    for (const t of tools) {
      if (f < t.fragments.length) {
        events.push(chunk({ tool_calls: [{ index: t.index, function: { arguments: t.fragments[f] } }] }));
      }
    }
  }
  const finish = finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop');
  if (usage === 'finish') {
    events.push(chunk({}, finish, { usage: openaiUsage(usageCounts) }));
  } else {
    events.push(chunk({}, finish));
    if (usage === 'trailing') {
      events.push({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock',
        choices: [], usage: openaiUsage(usageCounts) });
    }
  }
  const list = events.map((data) => ({ data }));
  if (done) list.push({ data: '[DONE]' });
  return list;
}

export function openaiError(status, message = 'mock provider error', type, code = null) {
  const derived = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error'
    : status === 401 ? 'invalid_api_key' : 'invalid_request_error';
  return { error: { message, type: type ?? derived, param: null, code } };
}

// ---------------------------------------------------------------- Anthropic shapes
//
// Tool uses are given as {id?, name, input: object, fragments?: string[]}.

function anthropicUsage(usage) {
  return { input_tokens: 11, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
    output_tokens: 7, ...usage };
}

// A non-streaming `message` object.
export function anthropicMessage({
  model = 'claude-mock', text = 'Hello from the mock.', thinking, toolUses = [], stopReason,
  usage, id = randomId('msg_mock'),
} = {}) {
  const content = [];
  if (thinking !== undefined) content.push({ type: 'thinking', thinking, signature: 'c2lnLW1vY2s=' });
  if (text) content.push({ type: 'text', text });
  for (const [i, t] of toolUses.entries()) {
    content.push({ type: 'tool_use', id: t.id ?? `toolu_${i}_${randomId('', 8)}`, name: t.name, input: t.input ?? {} });
  }
  return {
    id, type: 'message', role: 'assistant', model, content,
    stop_reason: stopReason ?? (toolUses.length ? 'tool_use' : 'end_turn'), stop_sequence: null,
    usage: anthropicUsage(usage),
  };
}

// The event sequence of a streamed message: message_start, ping, content blocks
// (thinking, text, tool_use with input_json_delta fragments), message_delta, message_stop.
export function anthropicEvents({
  model = 'claude-mock', text = 'Hello from the mock.', pieces = 3, thinking, toolUses = [],
  stopReason, usage, id = randomId('msg_mock'), ping = true,
} = {}) {
  const u = anthropicUsage(usage);
  const ev = (event, data) => ({ event, data: { type: event, ...data } });
  const events = [ev('message_start', { message: {
    id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
    usage: { ...u, output_tokens: 1 } } })];
  if (ping) events.push(ev('ping', {}));
  let index = 0;
  if (thinking !== undefined) {
    events.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    for (const part of splitText(thinking, pieces)) {
      events.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: part } }));
    }
    events.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'c2lnLW1vY2s=' } }));
    events.push(ev('content_block_stop', { index }));
    index++;
  }
  if (text) {
    events.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    for (const part of splitText(text, pieces)) {
      events.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: part } }));
    }
    events.push(ev('content_block_stop', { index }));
    index++;
  }
  for (const [i, t] of toolUses.entries()) {
    events.push(ev('content_block_start', { index, content_block: {
      type: 'tool_use', id: t.id ?? `toolu_${i}_${randomId('', 8)}`, name: t.name, input: {} } }));
    for (const part of t.fragments ?? fragment(JSON.stringify(t.input ?? {}))) {
      events.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: part } }));
    }
    events.push(ev('content_block_stop', { index }));
    index++;
  }
  events.push(ev('message_delta', {
    delta: { stop_reason: stopReason ?? (toolUses.length ? 'tool_use' : 'end_turn'), stop_sequence: null },
    usage: { output_tokens: u.output_tokens } }));
  events.push(ev('message_stop', {}));
  return events;
}

export function anthropicError(status, message = 'mock provider error', type) {
  const derived = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error',
    404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error' }[status];
  return { type: 'error', error: { type: type ?? derived ?? 'api_error', message } };
}

// An error reply in the dialect, e.g. providerError('anthropic', 429, {retryAfter: 3}).
export function providerErrorScenario(format, status, { message, retryAfter, type } = {}) {
  const headers = retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {};
  const body = format === 'anthropic' ? anthropicError(status, message, type) : openaiError(status, message, type);
  return { type: 'json', status, headers, body };
}

// A 200 stream whose first event is an error (what providers do when they fail
// after committing to a streamed response).
export function streamErrorScenario(format, { message = 'mock overloaded', status = 529 } = {}) {
  const events = format === 'anthropic'
    ? [{ event: 'error', data: anthropicError(status, message) }]
    : [{ data: openaiError(status, message) }];
  return { type: 'sse', events };
}

// ---------------------------------------------------------------- demo reply

function countMessages(body) {
  return Array.isArray(body?.messages) ? body.messages.length : 0;
}

function demoText(format, body) {
  const model = typeof body?.model === 'string' ? body.model : 'unknown';
  return `llmproxy demo provider: this is an offline ${format} demo reply for model "${model}" ` +
    `(${countMessages(body)} message(s) received). Configure a real provider to get real answers.`;
}

function demoScenario(format, request) {
  const body = request.body ?? {};
  const model = typeof body.model === 'string' ? body.model : 'demo-model';
  if (request.method === 'GET' && /\/models$/.test(request.path)) {
    const data = format === 'anthropic'
      ? [{ type: 'model', id: 'claude-demo', display_name: 'llmproxy demo provider', created_at: '2025-01-01T00:00:00Z' }]
      : [{ id: 'gpt-demo', object: 'model', created: 1700000000, owned_by: 'llmproxy-demo' }];
    return { type: 'json', body: format === 'anthropic' ? { data, has_more: false, first_id: data[0].id, last_id: data[0].id } : { object: 'list', data } };
  }
  if (format === 'anthropic' && request.path.endsWith('/count_tokens')) {
    return { type: 'json', body: { input_tokens: Math.max(1, Math.ceil(request.raw.length / 4)) } };
  }
  const text = demoText(format, body);
  if (body.stream === true) {
    const events = format === 'anthropic'
      ? anthropicEvents({ model, text, pieces: 4 })
      : openaiChunks({ model, text, pieces: 4,
        usage: body.stream_options?.include_usage ? 'trailing' : 'none' });
    return { type: 'sse', events };
  }
  return { type: 'json', body: format === 'anthropic' ? anthropicMessage({ model, text }) : openaiCompletion({ model, text }) };
}

// ---------------------------------------------------------------- server

function toBuffer(data) {
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

async function writeChunks(res, chunks, isOpen) {
  for (const chunk of chunks) {
    if (chunk.delayMs) await sleep(chunk.delayMs);
    if (!isOpen()) return false;
    res.write(toBuffer(chunk.data));
  }
  return true;
}

export async function startMockProvider({ format, port = 0, host = '127.0.0.1' } = {}) {
  if (format !== 'openai' && format !== 'anthropic') {
    throw new Error(`startMockProvider: format must be 'openai' or 'anthropic', got ${format}`);
  }
  const requests = [];
  const queue = [];
  let defaultScenario = { type: 'demo' };
  const sockets = new Set();
  const waiters = [];

  const notify = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (requests.length >= waiters[i].count) {
        waiters[i].resolve(requests.slice());
        waiters.splice(i, 1);
      }
    }
  };

  async function respond(req, res, record, scenario) {
    const socket = req.socket;
    const isOpen = () => !socket.destroyed && !res.destroyed;
    const finish = (end) => {
      record.responseFinishedAt = performance.now();
      if (end === 'destroy') socket.destroy();
      else if (end !== 'hang' && isOpen()) res.end();
    };
    if (scenario.headersDelayMs) await sleep(scenario.headersDelayMs);
    if (!isOpen()) return;
    switch (scenario.type) {
      case 'demo':
        return respond(req, res, record, { ...demoScenario(format, record), headersDelayMs: 0 });
      case 'json': {
        const body = typeof scenario.body === 'string' ? scenario.body : JSON.stringify(scenario.body ?? {});
        res.writeHead(scenario.status ?? 200, { 'content-type': 'application/json',
          'content-length': Buffer.byteLength(body), ...scenario.headers });
        res.end(req.method === 'HEAD' ? undefined : body);
        record.responseFinishedAt = performance.now();
        return;
      }
      case 'sse': {
        res.writeHead(scenario.status ?? 200, { 'content-type': 'text/event-stream',
          'cache-control': 'no-cache', ...scenario.headers });
        res.flushHeaders();
        const chunks = (scenario.events ?? []).map((e) => ({
          delayMs: e.delayMs, data: e.raw !== undefined ? e.raw : sseFrame(e) }));
        if (!(await writeChunks(res, chunks, isOpen))) return;
        if (scenario.endDelayMs) await sleep(scenario.endDelayMs);
        return finish(scenario.end);
      }
      case 'raw': {
        res.writeHead(scenario.status ?? 200, { 'content-type': 'text/event-stream', ...scenario.headers });
        res.flushHeaders();
        if (!(await writeChunks(res, scenario.chunks ?? [], isOpen))) return;
        if (scenario.endDelayMs) await sleep(scenario.endDelayMs);
        return finish(scenario.end);
      }
      case 'socket': {
        for (const chunk of scenario.chunks ?? []) {
          if (chunk.delayMs) await sleep(chunk.delayMs);
          if (socket.destroyed) return;
          socket.write(toBuffer(chunk.data));
        }
        record.responseFinishedAt = performance.now();
        if (scenario.end === 'destroy') socket.destroy();
        else if (scenario.end !== 'hang') socket.end();
        return;
      }
      case 'destroy':
        record.responseFinishedAt = performance.now();
        socket.destroy();
        return;
      case 'hang':
        return;
      default:
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `mock: unknown scenario type ${scenario.type}` } }));
    }
  }

  const server = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, (req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const rawBuffer = Buffer.concat(parts);
      const raw = rawBuffer.toString('utf8');
      let body;
      try { body = raw.length ? JSON.parse(raw) : undefined; } catch { body = undefined; }
      const url = new URL(req.url, 'http://mock.invalid');
      const record = {
        method: req.method, url: req.url, path: url.pathname, query: url.search,
        headers: { ...req.headers }, rawHeaders: req.rawHeaders.slice(), raw, rawBuffer, body,
        remotePort: req.socket.remotePort,  // the same value again: a reused (keepalive) connection
        receivedAt: performance.now(), responseFinishedAt: undefined, clientClosedEarly: false, closedAt: undefined,
      };
      res.on('close', () => {
        if (!res.writableFinished) {
          record.clientClosedEarly = true;
          record.closedAt = performance.now();
        }
      });
      requests.push(record);
      notify();
      let scenario = queue.length ? queue.shift() : defaultScenario;
      if (typeof scenario === 'function') scenario = scenario(record);
      respond(req, res, record, scenario).catch((err) => {
        if (!res.headersSent) res.writeHead(500);
        res.destroy(err);
      });
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const origin = `http://${host}:${actualPort}`;
  // Each ecosystem's base URL convention: OpenAI's includes the version.
  const baseUrl = format === 'openai' ? `${origin}/v1` : origin;

  return {
    format, port: actualPort, origin, baseUrl, url: baseUrl, requests,
    enqueue(...scenarios) { queue.push(...scenarios); },
    setDefault(scenario) { defaultScenario = scenario; },
    pending() { return queue.length; },
    reset() { requests.length = 0; queue.length = 0; defaultScenario = { type: 'demo' }; },
    // Resolves once `count` requests in total have been received.
    waitForRequests(count, timeoutMs = 5000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const waiter = { count, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`mock ${format}: ${requests.length} request(s) after ${timeoutMs} ms, wanted ${count}`));
          }
        }, timeoutMs).unref();
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------- CLI

async function main() {
  const { values } = parseArgs({ options: {
    format: { type: 'string' }, port: { type: 'string', default: '8081' },
    host: { type: 'string', default: '127.0.0.1' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.format) {
    process.stdout.write('usage: node scripts/mock-provider.mjs --format openai|anthropic [--port N] [--host ADDR]\n' +
      'Offline demo provider: answers every request with a labelled demo reply in the\n' +
      "provider's dialect (streamed when the request asks for it). Calls nothing else.\n");
    process.exit(values.help ? 0 : 2);
  }
  const mock = await startMockProvider({ format: values.format, port: Number(values.port), host: values.host });
  // The base URL to register: llmproxy-ctl provider add demo --format F --base-url URL
  process.stdout.write(`llmproxy demo provider (${values.format}) listening; base URL ${mock.baseUrl}\n`);
  const stop = () => { mock.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => { process.stderr.write(`mock-provider: ${err.message}\n`); process.exit(1); });
}
