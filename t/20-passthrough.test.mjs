// Same-dialect passthrough: body rewritten only in its top-level "model", provider
// credentials swapped in, responses and SSE streams passed through as they come.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';

import { startGateway, PROVIDER_KEYS } from './lib/gateway.mjs';
import { headerText } from './lib/dialects.mjs';
import {
  openaiCompletion, openaiChunks, anthropicMessage, anthropicEvents, providerErrorScenario, sseBody,
} from '../scripts/mock-provider.mjs';

let gw;
let clientKey;

before(async () => {
  // No retries: one attempt per request, so provider errors show as they are
  // (retries and fallback are 85-retries.test.mjs).
  gw = await startGateway({ label: 'passthrough', extraServer: 'llmproxy_max_retries 0;' });
  clientKey = gw.keys.alice.key;
});

after(async () => { await gw?.stop(); });

// The provider must hold its own key and nothing of the client's.
function assertUpstreamCredentials(record, provider) {
  const all = headerText(record.rawHeaders);
  assert.ok(!all.includes(clientKey), 'the client key never reaches the provider');
  assert.ok(!record.raw.includes(clientKey));
  if (provider === 'mockoai') {
    assert.equal(record.headers.authorization, `Bearer ${PROVIDER_KEYS.mockoai}`);
    assert.equal(record.headers['x-api-key'], undefined);
  } else {
    assert.equal(record.headers['x-api-key'], PROVIDER_KEYS.mockant);
    assert.equal(record.headers.authorization, undefined);
  }
}

// Responses echo the model the client asked for (ResponseContext::client_model):
// the events a client must get from `events` sent by the provider, serialised.
function echoClientModel(events, clientModel) {
  return events.map((e) => {
    if (typeof e.data === 'string') return { ...e };
    const data = structuredClone(e.data);
    if (data.object === 'chat.completion.chunk') data.model = clientModel;
    if (data.type === 'message_start') data.message.model = clientModel;
    return { ...e, data: JSON.stringify(data) };
  });
}

// The client must see nothing of any provider key.
function assertNoProviderSecrets(res) {
  const all = `${headerText(res.rawHeaders ?? [])}\n${res.text}`;
  for (const secret of Object.values(PROVIDER_KEYS)) assert.ok(!all.includes(secret), 'provider key visible to the client');
}

describe('openai -> openai provider', () => {
  test('non-stream: body byte-for-byte except the top-level model; response passed through', async () => {
    // Odd spacing, escapes, non-ASCII and a nested "model" that must stay as is.
    const raw = '{ "messages" : [{"role":"user","content":"h\\u00e9llo \\"q\\" 🌍 {\\"model\\":\\"x\\"}"}],\n'
      + '  "model" :  "gpt-4o-mini",  "temperature":0.25,"metadata":{"model":"inner-keep"},"n":1 }';
    const expectedUpstream = raw.replace('"model" :  "gpt-4o-mini"', '"model" :  "gpt-mock"');
    const reply = openaiCompletion({ model: 'gpt-mock-2025', text: 'passthrough ✓' });
    gw.mocks.openai.enqueue({ type: 'json', body: JSON.stringify(reply, null, 1), headers: { 'x-request-id': 'req_mock_1' } });

    const res = await gw.post('/v1/chat/completions', raw, { key: clientKey, auth: 'bearer' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, JSON.stringify({ ...reply, model: 'gpt-4o-mini' }, null, 1),
      'response passed through byte for byte, only "model" echoing the client\'s');
    assert.equal(res.headers['x-llmproxy-provider'], 'mockoai');
    assert.equal(res.headers['x-llmproxy-model'], 'gpt-mock');
    assertNoProviderSecrets(res);

    const rec = gw.mocks.openai.requests.at(-1);
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.raw, expectedUpstream);
    assertUpstreamCredentials(rec, 'mockoai');
  });

  test('upstream error status and body passed through', async () => {
    const scenario = providerErrorScenario('openai', 400, { message: 'mock: bad temperature' });
    gw.mocks.openai.enqueue(scenario);
    const res = await gw.post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }, { key: clientKey });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json(), scenario.body);
    assertNoProviderSecrets(res);

    gw.mocks.openai.enqueue(providerErrorScenario('openai', 429, { message: 'mock: slow down', retryAfter: 3 }));
    const limited = await gw.post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }, { key: clientKey });
    assert.equal(limited.status, 429);
    assert.equal(limited.json().error.message, 'mock: slow down');
    // The provider's wait hint and the attempt's target reach the client.
    assert.equal(limited.headers['retry-after'], '3');
    assert.equal(limited.headers['x-llmproxy-provider'], 'mockoai');
  });

  test('stream: events pass through one by one; the first arrives before the provider finishes', async () => {
    const events = openaiChunks({ model: 'gpt-mock', text: 'one two three four', usage: 'trailing' });
    events[1] = { ...events[1], delayMs: 1000 };  // first event, then a 1 s pause
    gw.mocks.openai.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/chat/completions',
      { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] },
      { key: clientKey });
    assert.equal(s.status, 200, s.text);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['x-llmproxy-provider'], 'mockoai');
    assert.equal(s.headers['x-llmproxy-model'], 'gpt-mock');
    const rec = gw.mocks.openai.requests.at(-1);
    assert.equal(rec.body.stream, true);
    assert.equal(rec.body.model, 'gpt-mock');
    assertUpstreamCredentials(rec, 'mockoai');
    assert.deepEqual(s.events.map((e) => e.data), echoClientModel(events, 'gpt-4o-mini').map((e) => e.data));
    assert.ok(s.events[0].at < rec.responseFinishedAt - 500,
      `first event ${Math.round(rec.responseFinishedAt - s.events[0].at)} ms before the provider finished (want > 500)`);
    assert.ok(s.events[1].at - s.events[0].at >= 900, 'the pause is between the events, not before the first');
  });

  test('stream: bytes split inside UTF-8 sequences and JSON strings arrive intact', async () => {
    const events = openaiChunks({ text: ['naïve ', '日本語 ', '🌍🌍', ' done'], usage: 'none' });
    const bytes = Buffer.from(sseBody(events));
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 13) chunks.push({ data: bytes.subarray(i, i + 13), delayMs: i === 0 ? 0 : 2 });
    gw.mocks.openai.enqueue({ type: 'raw', chunks });
    const s = await gw.stream('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [] }, { key: clientKey });
    assert.equal(s.status, 200);
    assert.equal(s.text, sseBody(echoClientModel(events, 'gpt-4o')));
    const text = s.events.filter((e) => e.json?.choices?.length).map((e) => e.json.choices[0].delta.content ?? '').join('');
    assert.equal(text, 'naïve 日本語 🌍🌍 done');
  });

  test('a large request body (spilled to a temp file by nginx) is forwarded intact', async () => {
    const big = 'x'.repeat(300 * 1024);
    const raw = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: big }], max_tokens: 5 });
    const res = await gw.post('/v1/chat/completions', raw, { key: clientKey });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    const rec = gw.mocks.openai.requests.at(-1);
    assert.equal(rec.raw, raw.replace('"model":"gpt-4o"', '"model":"gpt-mock"'));
  });
});

describe('anthropic -> anthropic provider', () => {
  test('non-stream with ?beta=true: body, headers, credentials, response', async () => {
    const raw = '{"max_tokens":1024,"model":"claude-sonnet-4-5","system":[{"type":"text","text":"sys","cache_control":{"type":"ephemeral"}}],'
      + '"messages":[{"role":"user","content":[{"type":"text","text":"ünïcode \\n \\"model\\": \\"claude-x\\""}]}],"metadata":{"user_id":"u1"}}';
    const expectedUpstream = raw.replace('"model":"claude-sonnet-4-5"', '"model":"claude-real"');
    const reply = anthropicMessage({ model: 'claude-real', text: 'passthrough ✓' });
    gw.mocks.anthropic.enqueue({ type: 'json', body: JSON.stringify(reply) });
    const res = await gw.post('/v1/messages?beta=true', raw, { key: clientKey, headers: {
      'anthropic-version': '2023-06-01', 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, JSON.stringify({ ...reply, model: 'claude-sonnet-4-5' }));
    assert.equal(res.headers['x-llmproxy-provider'], 'mockant');
    assert.equal(res.headers['x-llmproxy-model'], 'claude-real');
    assertNoProviderSecrets(res);

    const rec = gw.mocks.anthropic.requests.at(-1);
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/v1/messages');
    assert.equal(rec.raw, expectedUpstream);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.equal(rec.headers['anthropic-beta'], 'claude-code-20250219,interleaved-thinking-2025-05-14');
    assertUpstreamCredentials(rec, 'mockant');
  });

  test('anthropic-version defaults to 2023-06-01; a Bearer client still gives the provider x-api-key', async () => {
    const res = await gw.post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, messages: [] },
      { key: clientKey, auth: 'bearer' });
    assert.equal(res.status, 200, res.text);
    const rec = gw.mocks.anthropic.requests.at(-1);
    assert.equal(rec.headers['anthropic-version'], '2023-06-01');
    assert.equal(rec.headers['anthropic-beta'], undefined);
    assert.equal(rec.body.model, 'claude-real');
    assertUpstreamCredentials(rec, 'mockant');
  });

  test('upstream 429/529 status and error body passed through', async () => {
    for (const status of [429, 529]) {
      const scenario = providerErrorScenario('anthropic', status, { message: `mock ${status}`, retryAfter: 2 });
      gw.mocks.anthropic.enqueue(scenario);
      const res = await gw.post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] }, { key: clientKey });
      assert.equal(res.status, status);
      assert.deepEqual(res.json(), scenario.body);
      assertNoProviderSecrets(res);
    }
  });

  test('stream: events pass through one by one; the first arrives before the provider finishes', async () => {
    const events = anthropicEvents({ model: 'claude-real', thinking: 'hmm', text: 'alpha beta gamma',
      toolUses: [{ name: 'Bash', input: { command: 'ls' } }] });
    events[1] = { ...events[1], delayMs: 1000 };
    gw.mocks.anthropic.enqueue({ type: 'sse', events });
    const s = await gw.stream('/v1/messages?beta=true', { model: 'claude-opus-4-1', max_tokens: 100, stream: true, messages: [] },
      { key: clientKey, headers: { 'anthropic-version': '2023-06-01' } });
    assert.equal(s.status, 200, s.text);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['x-llmproxy-provider'], 'mockant');
    assert.equal(s.headers['x-llmproxy-model'], 'claude-real');
    assertNoProviderSecrets(s);
    const rec = gw.mocks.anthropic.requests.at(-1);
    assertUpstreamCredentials(rec, 'mockant');
    assert.deepEqual(s.events.map((e) => e.event), events.map((e) => e.event));
    assert.deepEqual(s.events.map((e) => e.data), echoClientModel(events, 'claude-opus-4-1').map((e) => e.data));
    assert.ok(s.events[0].at < rec.responseFinishedAt - 500,
      `first event ${Math.round(rec.responseFinishedAt - s.events[0].at)} ms before the provider finished (want > 500)`);
  });

  test('stream: 200 whose first event is an error becomes that error status (nothing was sent yet)', async () => {
    gw.mocks.anthropic.enqueue({ type: 'sse', events: [{ event: 'error',
      data: { type: 'error', error: { type: 'overloaded_error', message: 'mock overloaded' } } }] });
    const s = await gw.stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, stream: true, messages: [] },
      { key: clientKey });
    assert.equal(s.status, 529, s.text);
    assert.match(String(s.headers['content-type']), /^application\/json/);
    assert.deepEqual(s.json(), { type: 'error', error: { type: 'overloaded_error', message: 'mock overloaded' } });
  });

  test('a large request body is forwarded intact', async () => {
    const raw = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5,
      messages: [{ role: 'user', content: 'é'.repeat(200 * 1024) }] });
    const res = await gw.post('/v1/messages', raw, { key: clientKey });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(gw.mocks.anthropic.requests.at(-1).raw, raw.replace('"model":"claude-sonnet-4-5"', '"model":"claude-real"'));
  });
});

test('a chunked request body (no Content-Length), sent in two parts, is forwarded intact', async () => {
  const raw = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'y'.repeat(3000) }] });
  const res = await new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}/v1/messages`, { method: 'POST', agent: false, headers: {
      'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-api-key': clientKey } });
    req.on('response', (r) => {
      let text = '';
      r.on('data', (d) => { text += d; });
      r.on('end', () => resolve({ status: r.statusCode, text }));
    });
    req.on('error', reject);
    req.write(raw.slice(0, 1000));
    setTimeout(() => req.end(raw.slice(1000)), 100);
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(gw.mocks.anthropic.requests.at(-1).raw, raw.replace('"model":"claude-sonnet-4-5"', '"model":"claude-real"'));
});

test('compression: identity asked of the provider; a gzip reply anyway is decoded for the client', async () => {
  const body = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] };
  const plain = await gw.post('/v1/messages', body, { key: clientKey, headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
  assert.equal(plain.status, 200);
  assert.equal(gw.mocks.anthropic.requests.at(-1).headers['accept-encoding'], 'identity');

  const reply = anthropicMessage({ model: 'claude-real', text: 'zipped ✓' });
  gw.mocks.anthropic.enqueue({ type: 'raw', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    chunks: [{ data: zlib.gzipSync(JSON.stringify(reply)) }] });
  const res = await gw.post('/v1/messages', body, { key: clientKey });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['content-encoding'], undefined);
  assert.equal(res.json().content[0].text, 'zipped ✓');

  const events = anthropicEvents({ model: 'claude-real', text: 'zipped stream ✓' });
  const zipped = zlib.gzipSync(sseBody(events));
  gw.mocks.anthropic.enqueue({ type: 'raw', headers: { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' },
    chunks: [{ data: zipped.subarray(0, 40) }, { data: zipped.subarray(40), delayMs: 20 }] });
  const s = await gw.stream('/v1/messages', { ...body, stream: true }, { key: clientKey });
  assert.equal(s.status, 200);
  assert.equal(s.headers['content-encoding'], undefined);
  assert.deepEqual(s.events.map((e) => e.event), events.map((e) => e.event));
  assert.equal(s.events.filter((e) => e.json?.delta?.type === 'text_delta').map((e) => e.json.delta.text).join(''), 'zipped stream ✓');
});
