// llmproxy-ctl writes take effect on the next request, with no reload, in every
// worker (bursts of concurrent requests spread over the 2 workers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway } from './lib/gateway.mjs';
import { DIALECTS, assertDialectError } from './lib/dialects.mjs';

let gw;
const BURST = 6;

before(async () => {
  // No default route: only claude-* is routed at first.
  gw = await startGateway({ label: 'ctl-live', routes: [['claude-*', 'mockant/claude-real']] });
});

after(async () => { await gw?.stop(); });

// BURST concurrent requests on fresh connections; returns the responses.
function burst(dialect, { key, model } = {}) {
  const d = DIALECTS[dialect];
  return Promise.all(Array.from({ length: BURST }, () => gw.post(d.path, d.body(model ?? d.model), { key })));
}

function assertAllStatus(responses, status) {
  for (const r of responses) assert.equal(r.status, status, r.text.slice(0, 300));
}

test('a key created while nginx runs works at once', async () => {
  const k = await gw.createKey('dave');
  assertAllStatus(await burst('anthropic', { key: k.key }), 200);
});

test('disable mid-run: works, then 401 on the next request, then enable restores it', async () => {
  const k = await gw.createKey('erin');
  assertAllStatus(await burst('anthropic', { key: k.key }), 200);
  await gw.ctlOk('key', 'disable', k.id);
  const before = gw.totalUpstreamRequests();
  for (const r of await burst('anthropic', { key: k.key })) assertDialectError('anthropic', r, 401, 'authentication_error');
  assert.equal(gw.totalUpstreamRequests(), before);
  await gw.ctlOk('key', 'enable', k.id);
  assertAllStatus(await burst('anthropic', { key: k.key }), 200);
});

test('disable while a stream is open: the open stream finishes, the next request is refused', async () => {
  const k = await gw.createKey('frank');
  gw.mocks.anthropic.enqueue({ type: 'sse', events: [
    { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant',
      model: 'claude-real', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } } },
    { event: 'message_stop', data: { type: 'message_stop' }, delayMs: 600 }] });
  const d = DIALECTS.anthropic;
  const streaming = gw.stream(d.path, d.body(d.model, { stream: true }), { key: k.key });
  await gw.mocks.anthropic.waitForRequests(gw.mocks.anthropic.requests.length + 1);
  await gw.ctlOk('key', 'disable', k.id);
  const refused = await gw.post(d.path, d.body(), { key: k.key });
  assertDialectError('anthropic', refused, 401, 'authentication_error');
  const s = await streaming;
  assert.equal(s.status, 200);
  assert.deepEqual(s.events.map((e) => e.event), ['message_start', 'message_stop']);
});

test('rotate: the old secret is refused at once, the new one works', async () => {
  const k = await gw.createKey('grace');
  assertAllStatus(await burst('anthropic', { key: k.key }), 200);
  const r = await gw.ctlOk('key', 'rotate', k.id);
  // The new secret is printed once; its exact layout is ctl's business.
  const printed = r.stdout.match(/sk-llmp-[A-Za-z0-9]+/g) ?? [];
  assert.equal(printed.length, 1, `one secret in: ${r.stdout.replace(/sk-llmp-[A-Za-z0-9]+/g, 'sk-llmp-…')}`);
  const rotated = { id: k.id, key: printed[0] };
  gw.issuedKeys.push(rotated.key);
  assert.notEqual(rotated.key, k.key);
  for (const res of await burst('anthropic', { key: k.key })) assertDialectError('anthropic', res, 401, 'authentication_error');
  assertAllStatus(await burst('anthropic', { key: rotated.key }), 200);
});

test('key rm: refused on the next request', async () => {
  const k = await gw.createKey('heidi');
  assertAllStatus(await burst('anthropic', { key: k.key }), 200);
  await gw.ctlOk('key', 'rm', k.id);
  for (const res of await burst('anthropic', { key: k.key })) assertDialectError('anthropic', res, 401, 'authentication_error');
});

test('routes: a new route takes effect, a changed target is used, a removed route 404s', async () => {
  const key = gw.keys.alice.key;
  for (const res of await burst('openai', { key, model: 'gpt-4o' })) assertDialectError('openai', res, 404, 'not_found_error');

  await gw.ctlOk('route', 'set', 'gpt-*', 'mockoai/gpt-mock');
  let n = gw.mocks.openai.requests.length;
  assertAllStatus(await burst('openai', { key, model: 'gpt-4o' }), 200);
  assert.deepEqual(gw.mocks.openai.requests.slice(n).map((r) => r.body.model), Array(BURST).fill('gpt-mock'));

  await gw.ctlOk('route', 'set', 'gpt-*', 'mockoai/gpt-other');
  n = gw.mocks.openai.requests.length;
  const res = await burst('openai', { key, model: 'gpt-4o' });
  assertAllStatus(res, 200);
  for (const r of res) assert.equal(r.headers['x-llmproxy-model'], 'gpt-other');
  assert.deepEqual(gw.mocks.openai.requests.slice(n).map((r) => r.body.model), Array(BURST).fill('gpt-other'));

  // An exact route beats the glob.
  await gw.ctlOk('route', 'set', 'gpt-4o', 'mockoai/gpt-exact');
  const exact = await gw.post('/v1/chat/completions', DIALECTS.openai.body('gpt-4o'), { key });
  assert.equal(exact.status, 200, exact.text);
  assert.equal(gw.mocks.openai.requests.at(-1).body.model, 'gpt-exact');

  await gw.ctlOk('route', 'rm', 'gpt-4o');
  await gw.ctlOk('route', 'rm', 'gpt-*');
  for (const r of await burst('openai', { key, model: 'gpt-4o' })) assertDialectError('openai', r, 404, 'not_found_error');
});

test('a key created with --models is limited to those models at once', async () => {
  const k = await gw.createKey('ivan', '--models', 'claude-haiku-*');
  const d = DIALECTS.anthropic;
  const ok = await gw.post(d.path, d.body('claude-haiku-4-5'), { key: k.key });
  assert.equal(ok.status, 200, ok.text);
  const denied = await gw.post(d.path, d.body('claude-opus-4-1'), { key: k.key });
  assertDialectError('anthropic', denied, 403, 'permission_error');
});
