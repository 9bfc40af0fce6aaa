// Provider settings written by llmproxy-ctl, as the provider sees them:
// a key from the environment, extra headers, max_tokens caps, an nginx
// upstream block with keepalive, and changes to an existing provider taking
// effect on the next request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway, PROVIDER_KEYS } from './lib/gateway.mjs';
import { startMockProvider } from '../scripts/mock-provider.mjs';

const ENV_KEY_VAR = 'LLMPROXY_T_PROVIDER_KEY';
const ENV_KEY = 'sk-provider-SECRET-from-env-91c2';
let gw;
let spare;

before(async () => {
  process.env[ENV_KEY_VAR] = ENV_KEY;  // nginx inherits it; `env` keeps it for the workers
  gw = await startGateway({ label: 'providers', extraMain: `env ${ENV_KEY_VAR};`,
    extraHttp: ({ mocks }) => `upstream antpool { server 127.0.0.1:${mocks.anthropic.port}; keepalive 4; }`,
    extraServer: 'llmproxy_max_retries 0;' });
  gw.secrets.push(ENV_KEY);
  spare = await startMockProvider({ format: 'openai' });
  await gw.ctlOk('provider', 'add', 'envoai', '--format', 'openai', '--base-url', gw.mocks.openai.baseUrl,
    '--api-key-env', ENV_KEY_VAR, '--header', 'X-Org: acme', '--header', 'X-Trace: on',
    '--model-max-tokens', 'gpt-capped=100');
  await gw.ctlOk('route', 'set', 'env-*', 'envoai/gpt-capped');
  await gw.ctlOk('provider', 'add', 'antcap', '--format', 'anthropic', '--base-url', gw.mocks.anthropic.baseUrl,
    '--api-key', 'sk-provider-SECRET-antcap', '--model-max-tokens', 'claude-capped=64');
  gw.secrets.push('sk-provider-SECRET-antcap');
  await gw.ctlOk('route', 'set', 'cap-*', 'antcap/claude-capped');
});

after(async () => {
  delete process.env[ENV_KEY_VAR];
  await spare?.close();
  await gw?.stop();
});

const chat = (body) => gw.post('/v1/chat/completions', { model: 'env-x', messages: [{ role: 'user', content: 'x' }], ...body });

test('--api-key-env: the worker sends the key from its environment', async () => {
  const r = await chat({});
  assert.equal(r.status, 200, r.text);
  assert.equal(gw.mocks.openai.requests.at(-1).headers.authorization, `Bearer ${ENV_KEY}`);
  assert.ok(!r.text.includes(ENV_KEY));
});

test('--header: extra headers reach the provider', async () => {
  await chat({});
  const rec = gw.mocks.openai.requests.at(-1);
  assert.equal(rec.headers['x-org'], 'acme');
  assert.equal(rec.headers['x-trace'], 'on');
});

test('--model-max-tokens caps max_tokens / max_completion_tokens, and only those', async () => {
  await chat({ max_tokens: 5000 });
  assert.equal(gw.mocks.openai.requests.at(-1).raw,
    '{"model":"gpt-capped","messages":[{"role":"user","content":"x"}],"max_tokens":100}', 'only model and the cap change');
  await chat({ max_completion_tokens: 5000 });
  assert.equal(gw.mocks.openai.requests.at(-1).body.max_completion_tokens, 100);
  await chat({ max_tokens: 50 });
  assert.equal(gw.mocks.openai.requests.at(-1).body.max_tokens, 50, 'below the cap: unchanged');
  await chat({});
  assert.equal(gw.mocks.openai.requests.at(-1).body.max_tokens, undefined, 'absent: not added');
  const a = await gw.post('/v1/messages', { model: 'cap-x', max_tokens: 32000, messages: [] });
  assert.equal(a.status, 200, a.text);
  assert.equal(gw.mocks.anthropic.requests.at(-1).raw, '{"model":"claude-capped","max_tokens":64,"messages":[]}');
});

test('provider set: new headers, key and base URL apply to the next request', async () => {
  await gw.ctlOk('provider', 'set', 'envoai', '--clear-headers', '--header', 'X-Org: other');
  await chat({});
  let rec = gw.mocks.openai.requests.at(-1);
  assert.equal(rec.headers['x-org'], 'other');
  assert.equal(rec.headers['x-trace'], undefined);

  await gw.ctlOk('provider', 'set', 'envoai', '--api-key', 'sk-provider-SECRET-stored-77');
  gw.secrets.push('sk-provider-SECRET-stored-77');
  await chat({});
  assert.equal(gw.mocks.openai.requests.at(-1).headers.authorization, 'Bearer sk-provider-SECRET-stored-77');

  const n = gw.mocks.openai.requests.length;
  await gw.ctlOk('provider', 'set', 'envoai', '--base-url', spare.baseUrl);
  const r = await chat({});
  assert.equal(r.status, 200, r.text);
  assert.equal(gw.mocks.openai.requests.length, n, 'the old URL is no longer used');
  rec = spare.requests.at(-1);
  assert.equal(rec.path, '/v1/chat/completions');
  assert.equal(rec.headers.authorization, 'Bearer sk-provider-SECRET-stored-77');
  assert.equal(rec.body.model, 'gpt-capped');
});

test('--upstream: requests go through the nginx upstream block and reuse its keepalive connections', async () => {
  const ask = () => gw.post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [] });
  let n = gw.mocks.anthropic.requests.length;
  for (let i = 0; i < 6; i++) assert.equal((await ask()).status, 200);
  const direct = new Set(gw.mocks.anthropic.requests.slice(n).map((r) => r.remotePort));
  assert.equal(direct.size, 6, 'without an upstream block: a connection per request');

  await gw.ctlOk('provider', 'set', 'mockant', '--upstream', 'antpool');
  n = gw.mocks.anthropic.requests.length;
  for (let i = 0; i < 6; i++) assert.equal((await ask()).status, 200);
  const s = await gw.stream('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 5, stream: true, messages: [] });
  assert.equal(s.status, 200);
  assert.equal(s.events.at(-1).event, 'message_stop');
  const recs = gw.mocks.anthropic.requests.slice(n);
  assert.equal(recs.length, 7);
  const pooled = new Set(recs.map((r) => r.remotePort));
  assert.ok(pooled.size <= 2, `connections reused (2 workers): ${pooled.size} for 7 requests`);
  assert.equal(recs[0].headers.host, new URL(gw.mocks.anthropic.baseUrl).host, 'Host still from the base URL');
  assert.equal(recs[0].headers['x-api-key'], PROVIDER_KEYS.mockant);

  await gw.ctlOk('provider', 'set', 'mockant', '--no-upstream');
  n = gw.mocks.anthropic.requests.length;
  for (let i = 0; i < 3; i++) assert.equal((await ask()).status, 200);
  assert.equal(new Set(gw.mocks.anthropic.requests.slice(n).map((r) => r.remotePort)).size, 3);
});
