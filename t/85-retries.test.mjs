// Retries, fallback and timeouts, all before the first byte reaches the client
// (default llmproxy_max_retries 2: three attempts per target).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway, freePort } from './lib/gateway.mjs';
import { DIALECTS, assertDialectError } from './lib/dialects.mjs';
import { anthropicEvents, openaiChunks, providerErrorScenario, streamErrorScenario } from '../scripts/mock-provider.mjs';

let gw;
const ANT = DIALECTS.anthropic;
const OAI = DIALECTS.openai;

before(async () => {
  gw = await startGateway({ label: 'retries', extraServer: 'llmproxy_timeouts first_byte=400ms idle=400ms;', routes: [
    ['claude-*', 'mockant/claude-real'],
    ['fb-*', 'mockant/claude-primary,mockoai/gpt-fallback'],
    ['default', 'mockoai/gpt-mock']] });
  const deadPort = await freePort();
  await gw.ctlOk('provider', 'add', 'deadant', '--format', 'anthropic', '--base-url', `http://127.0.0.1:${deadPort}`,
    '--api-key', 'sk-provider-SECRET-deadant');
  gw.secrets.push('sk-provider-SECRET-deadant');
  await gw.ctlOk('route', 'set', 'dead-*', 'deadant/claude-x,mockant/claude-alive');
});

after(async () => { await gw?.stop(); });

// Attempts the mocks saw while running fn().
async function counting(fn) {
  const a = gw.mocks.anthropic.requests.length;
  const o = gw.mocks.openai.requests.length;
  const result = await fn();
  return { result, anthropic: gw.mocks.anthropic.requests.length - a, openai: gw.mocks.openai.requests.length - o };
}

describe('same target', () => {
  test('529, 503, then success: the client only sees the success', async () => {
    gw.mocks.anthropic.enqueue(providerErrorScenario('anthropic', 529), providerErrorScenario('anthropic', 503));
    const { result: r, anthropic } = await counting(() => gw.post(ANT.path, ANT.body()));
    assert.equal(r.status, 200, r.text);
    assert.match(r.json().content[0].text, /llmproxy demo provider/);
    assert.equal(anthropic, 3);
  });

  test('every attempt of a passthrough sends the client\'s bytes, model spliced in', async () => {
    // Large enough to arrive in several reads; spacing a re-serialiser would lose.
    const raw = `{ "model" : "claude-x",\n "max_tokens": 5, "messages": [{"role":"user","content":"${'z\\n'.repeat(40000)}"}] }`;
    gw.mocks.anthropic.enqueue(providerErrorScenario('anthropic', 529), providerErrorScenario('anthropic', 503));
    const { result: r, anthropic } = await counting(() => gw.post(ANT.path, raw));
    assert.equal(r.status, 200, r.text);
    assert.equal(anthropic, 3);
    const want = raw.replace('"claude-x"', '"claude-real"');
    for (const attempt of gw.mocks.anthropic.requests.slice(-3)) {
      assert.equal(attempt.headers['content-length'], String(Buffer.byteLength(want)));
      assert.ok(attempt.raw === want, 'the provider got the client\'s bytes with only the model replaced');
    }
  });

  test('connection reset, then success', async () => {
    gw.mocks.openai.enqueue({ type: 'destroy' });
    const { result: r, openai } = await counting(() => gw.post(OAI.path, OAI.body()));
    assert.equal(r.status, 200, r.text);
    assert.equal(openai, 2);
  });

  test('429 with Retry-After: 1 waits about a second before retrying', async () => {
    gw.mocks.anthropic.enqueue(providerErrorScenario('anthropic', 429, { retryAfter: 1 }));
    const { result: r, anthropic } = await counting(() => gw.post(ANT.path, ANT.body()));
    assert.equal(r.status, 200, r.text);
    assert.equal(anthropic, 2);
    const [first, second] = gw.mocks.anthropic.requests.slice(-2);
    const waited = second.receivedAt - first.receivedAt;
    assert.ok(waited >= 900 && waited < 3000, `retried after ${Math.round(waited)} ms`);
  });

  test('400 is the client\'s fault: not retried, passed through', async () => {
    const scenario = providerErrorScenario('anthropic', 400, { message: 'mock: messages: field required' });
    gw.mocks.anthropic.enqueue(scenario);
    const { result: r, anthropic } = await counting(() => gw.post(ANT.path, ANT.body()));
    assert.equal(anthropic, 1);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), scenario.body);
  });

  test('every attempt fails: three attempts, then the last error in the client dialect', async () => {
    gw.mocks.openai.setDefault(providerErrorScenario('openai', 500, { message: 'mock: always down' }));
    try {
      const { result: r, openai } = await counting(() => gw.post(OAI.path, OAI.body()));
      assert.equal(openai, 3);
      const body = assertDialectError('openai', r, 500, 'server_error');
      assert.equal(body.error.message, 'mock: always down');
    } finally {
      gw.mocks.openai.setDefault({ type: 'demo' });
    }
  });

  test('a stream whose first event is an error is retried', async () => {
    gw.mocks.anthropic.enqueue(streamErrorScenario('anthropic'));
    const { result: s, anthropic } = await counting(() => gw.stream(ANT.path, ANT.body(ANT.model, { stream: true })));
    assert.equal(anthropic, 2);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.events[0].event, 'message_start');
    assert.equal(s.events.at(-1).event, 'message_stop');
    assert.ok(!s.events.some((e) => e.event === 'error'));
  });

  test('no retry once the stream has started: a cut becomes an error event', async () => {
    gw.mocks.openai.enqueue({ type: 'sse', events: openaiChunks({ text: 'a b c d' }).slice(0, 3), end: 'destroy' });
    const { result: s, openai } = await counting(() => gw.stream(OAI.path, OAI.body(OAI.model, { stream: true })));
    assert.equal(openai, 1);
    assert.equal(s.status, 200);
    assert.ok(s.events.some((e) => typeof e.json?.error?.message === 'string'), 'an error chunk ends the stream');
  });
});

describe('fallback to the next target', () => {
  test('primary keeps failing: the fallback answers, in the client dialect, with the client model', async () => {
    gw.mocks.anthropic.setDefault(providerErrorScenario('anthropic', 529));
    try {
      const { result: r, anthropic, openai } = await counting(() => gw.post(ANT.path, ANT.body('fb-model')));
      assert.equal(r.status, 200, r.text);
      assert.equal(anthropic, 3);
      assert.equal(openai, 1);
      assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
      assert.equal(r.headers['x-llmproxy-model'], 'gpt-fallback');
      const msg = r.json();
      assert.equal(msg.type, 'message');
      assert.equal(msg.model, 'fb-model');
      assert.equal(gw.mocks.openai.requests.at(-1).body.model, 'gpt-fallback');
    } finally {
      gw.mocks.anthropic.setDefault({ type: 'demo' });
    }
  });

  test('nothing listening at the primary: the fallback answers', async () => {
    const { result: r, anthropic } = await counting(() => gw.post(ANT.path, ANT.body('dead-model')));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockant');
    assert.equal(anthropic, 1);
    assert.equal(gw.mocks.anthropic.requests.at(-1).body.model, 'claude-alive');
  });

  test('400 from the primary is not a reason to fall back', async () => {
    gw.mocks.anthropic.enqueue(providerErrorScenario('anthropic', 400));
    const { result: r, openai } = await counting(() => gw.post(ANT.path, ANT.body('fb-model')));
    assert.equal(r.status, 400);
    assert.equal(openai, 0);
  });
});

describe('timeouts (llmproxy_timeouts first_byte=400ms idle=400ms)', () => {
  test('no first byte in time: the next target answers', async () => {
    gw.mocks.anthropic.enqueue({ type: 'json', headersDelayMs: 1500, body: { never: 'seen' } });
    const t0 = performance.now();
    const { result: r, anthropic, openai } = await counting(() => gw.post(ANT.path, ANT.body('fb-model')));
    assert.equal(r.status, 200, r.text);
    assert.equal(anthropic, 1, 'a timed-out target is not retried');
    assert.equal(openai, 1);
    assert.ok(performance.now() - t0 < 1400, 'the slow primary was abandoned at the timeout');
  });

  test('no first byte from the only target: 504 timeout in the client dialect', async () => {
    gw.mocks.anthropic.enqueue({ type: 'hang' });
    const r = await gw.post(ANT.path, ANT.body());
    assertDialectError('anthropic', r, 504, 'timeout_error');
  });

  test('a stream idle past the idle timeout ends with an error event', async () => {
    const events = anthropicEvents({ text: 'a b c' });
    events[4] = { ...events[4], delayMs: 1500 };
    gw.mocks.anthropic.enqueue({ type: 'sse', events });
    const s = await gw.stream(ANT.path, ANT.body(ANT.model, { stream: true }));
    assert.equal(s.status, 200);
    assert.equal(s.events.at(-1).event, 'error', s.text.slice(-300));
    assert.ok(!s.events.some((e) => e.event === 'message_stop'));
  });
});
