// Bad requests, unreachable or failing providers, streams cut short, idle
// streams, and the small local endpoints (/v1/models, count_tokens): always an
// answer in the caller's dialect, never a hang or a truncated "success".
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import http from 'node:http';

import { startGateway, freePort, sleep } from './lib/gateway.mjs';
import { DIALECTS, assertDialectError } from './lib/dialects.mjs';
import { anthropicEvents, openaiChunks } from '../scripts/mock-provider.mjs';

let gw;

before(async () => {
  gw = await startGateway({ label: 'errors', routes: [
    ['claude-*', 'mockant/claude-real'], ['gpt-4o', 'mockoai/gpt-mock'], ['gpt-4o-mini', 'mockoai/gpt-mock'],
    ['claude-opus-4-1', 'mockant/claude-real'], ['default', 'mockoai/gpt-mock']],
  // One attempt per request (retries are 85-retries.test.mjs).
  extraServer: 'llmproxy_ping_interval 250ms; llmproxy_max_retries 0;' });
});

after(async () => { await gw?.stop(); });

const SERVER_ERROR = { anthropic: 'api_error', openai: 'server_error' };

describe('malformed requests -> 400 invalid_request_error, provider untouched', () => {
  for (const dialect of ['anthropic', 'openai']) {
    test(dialect, async () => {
      const d = DIALECTS[dialect];
      const before = gw.totalUpstreamRequests();
      for (const raw of ['{not json', '[]', '{"model": 5, "messages": []}', '{"messages": []}', '']) {
        const r = await gw.post(d.path, raw, { headers: { 'content-type': 'application/json' } });
        assertDialectError(dialect, r, 400, 'invalid_request_error');
      }
      assert.equal(gw.totalUpstreamRequests(), before);
    });
  }
});

describe('"stream" that is not a boolean -> 400, passthrough and translated, provider untouched', () => {
  // The model comes first, so the peek that routes stops before "stream":
  // both the rest of the peek (passthrough) and the full parse (translated)
  // must still refuse it.
  const cases = [
    ['anthropic', 'claude-sonnet-4-5'], ['anthropic', 'gpt-4o'],
    ['openai', 'gpt-4o-mini'], ['openai', 'claude-opus-4-1'],
  ];
  for (const [dialect, model] of cases) {
    test(`${dialect} client, model ${model}`, async () => {
      const d = DIALECTS[dialect];
      const before = gw.totalUpstreamRequests();
      const raw = `{"model":"${model}","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"stream":"yes"}`;
      const r = await gw.post(d.path, raw);
      const err = assertDialectError(dialect, r, 400, 'invalid_request_error');
      assert.match(JSON.stringify(err), /stream/);
      assert.equal(gw.totalUpstreamRequests(), before);
    });
  }
});

describe('provider failures before the response starts -> 502 in the dialect', () => {
  for (const dialect of ['anthropic', 'openai']) {
    test(`${dialect}: connection reset by the provider`, async () => {
      const d = DIALECTS[dialect];
      gw.mocks[dialect].enqueue({ type: 'destroy' });
      const r = await gw.post(d.path, d.body());
      assertDialectError(dialect, r, 502, SERVER_ERROR[dialect]);
    });
  }

  test('nothing listening at the provider URL', async () => {
    const port = await freePort();
    await gw.ctlOk('provider', 'add', 'deadoai', '--format', 'openai', '--base-url', `http://127.0.0.1:${port}/v1`,
      '--api-key', 'sk-provider-SECRET-dead');
    gw.secrets.push('sk-provider-SECRET-dead');
    await gw.ctlOk('route', 'set', 'dead-model', 'deadoai/x');
    const r = await gw.post('/v1/chat/completions', DIALECTS.openai.body('dead-model'));
    assertDialectError('openai', r, 502, 'server_error');
    assert.ok(!r.text.includes('sk-provider-SECRET-dead'));
    await gw.ctlOk('route', 'rm', 'dead-model');
  });
});

describe('a stream the provider cuts short ends with an error event, not a silent success', () => {
  test('openai', async () => {
    const events = openaiChunks({ text: 'one two three four five six' });
    gw.mocks.openai.enqueue({ type: 'sse', events: events.slice(0, 3), end: 'destroy' });
    const s = await gw.stream('/v1/chat/completions', DIALECTS.openai.body(DIALECTS.openai.model, { stream: true }));
    assert.equal(s.status, 200);
    assert.deepEqual(s.events.slice(0, 3).map((e) => e.json?.choices?.[0]?.delta), events.slice(0, 3).map((e) => e.data.choices[0].delta));
    const tail = s.events.slice(3);
    assert.ok(tail.length >= 1, 'something follows the cut');
    assert.equal(typeof tail[0].json?.error?.message, 'string', `error chunk after the cut: ${tail[0]?.data}`);
    assert.ok(!s.events.some((e) => e.json?.choices?.[0]?.finish_reason), 'no finish_reason invented');
  });

  test('anthropic', async () => {
    const events = anthropicEvents({ text: 'one two three four five six' });
    gw.mocks.anthropic.enqueue({ type: 'sse', events: events.slice(0, 4), end: 'destroy' });
    const s = await gw.stream('/v1/messages', DIALECTS.anthropic.body(DIALECTS.anthropic.model, { stream: true }));
    assert.equal(s.status, 200);
    assert.deepEqual(s.events.slice(0, 4).map((e) => e.event), events.slice(0, 4).map((e) => e.event));
    const last = s.events.at(-1);
    assert.equal(last.event, 'error', `last event: ${last.event} ${last.data}`);
    assert.equal(last.json.type, 'error');
    assert.equal(typeof last.json.error.message, 'string');
    assert.ok(!s.events.some((e) => e.event === 'message_stop'), 'no message_stop invented');
  });
});

describe('local endpoints', () => {
  test('GET /v1/models lists the exact-name routes, in the caller dialect', async () => {
    const oai = await gw.request('GET', '/v1/models', { auth: 'bearer' });
    assert.equal(oai.status, 200, oai.text);
    const o = oai.json();
    assert.equal(o.object, 'list');
    assert.deepEqual(o.data.map((m) => m.id).sort(), ['claude-opus-4-1', 'gpt-4o', 'gpt-4o-mini']);
    assert.ok(o.data.every((m) => m.object === 'model'));

    const ant = await gw.request('GET', '/v1/models', { headers: { 'anthropic-version': '2023-06-01' } });
    assert.equal(ant.status, 200, ant.text);
    const a = ant.json();
    assert.equal(a.has_more, false);
    assert.deepEqual(a.data.map((m) => m.id).sort(), ['claude-opus-4-1', 'gpt-4o', 'gpt-4o-mini']);
    assert.ok(a.data.every((m) => m.type === 'model'));
  });

  test('GET /v1/models needs a key and honours its allow-list', async () => {
    const none = await gw.request('GET', '/v1/models', { auth: 'none' });
    assert.equal(none.status, 401);
    const k = await gw.createKey('lister', '--models', 'gpt-*');
    const r = await gw.request('GET', '/v1/models', { key: k.key, auth: 'bearer' });
    assert.deepEqual(r.json().data.map((m) => m.id).sort(), ['gpt-4o', 'gpt-4o-mini']);
  });

  test('POST /v1/messages/count_tokens?beta=true answers input_tokens', async () => {
    const short = await gw.post('/v1/messages/count_tokens?beta=true', { model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(short.status, 200, short.text);
    const long = await gw.post('/v1/messages/count_tokens?beta=true', { model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'hello '.repeat(2000) }] });
    assert.equal(long.status, 200, long.text);
    const [a, b] = [short.json().input_tokens, long.json().input_tokens];
    assert.ok(Number.isInteger(a) && a > 0, `input_tokens ${a}`);
    assert.ok(b > a * 10, `a longer prompt counts more tokens (${a} vs ${b})`);
  });
});

describe('an idle stream gets keepalives (llmproxy_ping_interval 250ms) without disturbing its events', () => {
  test('openai: SSE comments', async () => {
    const events = openaiChunks({ text: 'a b c' });
    events[2] = { ...events[2], delayMs: 1000 };
    gw.mocks.openai.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/chat/completions', DIALECTS.openai.body('gpt-4o', { stream: true }));
    assert.equal(s.status, 200);
    assert.ok(s.comments.length >= 2, `keepalive comments: ${s.comments.length}`);
    // Same events (the gateway echoes the client's model name; compare the rest).
    const withoutModel = (data) => {
      if (data === '[DONE]') return data;
      const copy = typeof data === 'string' ? JSON.parse(data) : structuredClone(data);
      delete copy.model;
      return copy;
    };
    assert.deepEqual(s.events.map((e) => withoutModel(e.data)), events.map((e) => withoutModel(e.data)));
  });

  test('anthropic: ping events', async () => {
    const events = anthropicEvents({ text: 'a b c' });
    events[3] = { ...events[3], delayMs: 1000 };
    gw.mocks.anthropic.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/messages', DIALECTS.anthropic.body(DIALECTS.anthropic.model, { stream: true }));
    assert.equal(s.status, 200);
    const pings = s.events.filter((e) => e.event === 'ping');
    assert.ok(pings.length >= 3, `ping events: ${pings.length} (1 from the provider)`);
    assert.ok(pings.every((e) => e.json?.type === 'ping'));
    assert.deepEqual(s.events.filter((e) => e.event !== 'ping').map((e) => e.event),
      events.filter((e) => e.event !== 'ping').map((e) => e.event));
  });

  test('anthropic client on an OpenAI provider that thinks silently after its role chunk: message_start, then pings', async () => {
    const events = openaiChunks({ text: 'the answer' });
    events[1] = { ...events[1], delayMs: 1200 };  // role chunk, then 1.2 s of silence
    gw.mocks.openai.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/messages', DIALECTS.anthropic.body('silent-thinker', { stream: true }));
    assert.equal(s.status, 200);
    const names = s.events.map((e) => e.event);
    assert.equal(names[0], 'message_start');
    const firstBlock = names.indexOf('content_block_start');
    const pingsBefore = names.slice(0, firstBlock).filter((n) => n === 'ping').length;
    assert.ok(pingsBefore >= 3, `pings while the provider was silent: ${pingsBefore} (${names.join(' ')})`);
    assert.equal(names.at(-1), 'message_stop');
  });
});

describe('a client that goes away mid-stream: the provider connection is closed too', () => {
  for (const dialect of ['anthropic', 'openai']) {
    test(dialect, async () => {
      const d = DIALECTS[dialect];
      const mock = gw.mocks[dialect];
      const events = (dialect === 'openai' ? openaiChunks({ text: 'a b c d e f g h i j' }) : anthropicEvents({ text: 'a b c d e f g h i j', pieces: 10 }))
        .map((e, i) => ({ ...e, delayMs: i ? 200 : 0 }));
      mock.enqueue({ type: 'sse', events });
      const body = JSON.stringify(d.body(d.model, { stream: true }));
      const req = http.request(gw.url + d.path, { method: 'POST', agent: false, headers: {
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...gw.authHeaders(gw.keys.alice.key) } });
      req.on('error', () => {});
      const firstData = new Promise((resolve) => req.on('response', (res) => res.once('data', resolve)));
      req.end(body);
      await firstData;
      const goneAt = performance.now();
      req.destroy();
      const rec = mock.requests.at(-1);
      for (let i = 0; i < 40 && !rec.clientClosedEarly; i++) await sleep(50);
      assert.equal(rec.clientClosedEarly, true, 'the provider saw its connection closed');
      assert.equal(rec.responseFinishedAt, undefined, 'before it finished the stream');
      assert.ok(rec.closedAt - goneAt < 1500, `closed ${Math.round(rec.closedAt - goneAt)} ms after the client left`);
      // The access log says the client left (499), though a 200 header went out.
      let line;
      for (let i = 0; i < 40 && !line; i++) {
        line = readFileSync(path.join(gw.dir, 'access.log'), 'utf8').split('\n')
          .filter((l) => l.includes(`"POST ${d.path} `)).at(-1);
        if (!line?.includes('" 499 ')) { line = undefined; await sleep(50); }
      }
      assert.ok(line, 'access.log has the stream logged with status 499');
    });
  }
});
