// Probes, wrong methods, unknown models and paths (one worker process).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway } from './lib/gateway.mjs';
import { DIALECTS, assertDialectError } from './lib/dialects.mjs';

let gw;

before(async () => {
  // No default route, so unknown models have nowhere to go.
  gw = await startGateway({ label: 'probes', workers: 1,
    routes: [['claude-*', 'mockant/claude-real'], ['gpt-4o', 'mockoai/gpt-mock']] });
});

after(async () => { await gw?.stop(); });

test('HEAD / -> 200 without a key (Claude Code connectivity preflight)', async () => {
  const r = await gw.request('HEAD', '/', { auth: 'none' });
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
});

test('HEAD and GET /api/hello -> 200 without a key', async () => {
  assert.equal((await gw.request('HEAD', '/api/hello', { auth: 'none' })).status, 200);
  assert.equal((await gw.request('GET', '/api/hello', { auth: 'none' })).status, 200);
  assert.equal(gw.totalUpstreamRequests(), 0, 'probes are answered by the gateway itself');
});

test('wrong method on an endpoint -> 405 with error JSON in its dialect', async () => {
  for (const dialect of ['anthropic', 'openai']) {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await gw.request(method, DIALECTS[dialect].path, {});
      assert.equal(r.status, 405, `${method} ${DIALECTS[dialect].path}: ${r.text}`);
      const body = r.json();
      if (dialect === 'anthropic') {
        assert.equal(body.type, 'error');
        assert.equal(typeof body.error.message, 'string');
      } else {
        assert.equal(typeof body.error.message, 'string');
        assert.equal(body.error.param, null);
      }
    }
  }
  assert.equal(gw.totalUpstreamRequests(), 0);
});

test('unknown model with no default route -> 404 not_found_error, both dialects', async () => {
  const a = await gw.post('/v1/messages', DIALECTS.anthropic.body('mystery-model-1'));
  assertDialectError('anthropic', a, 404, 'not_found_error');
  const o = await gw.post('/v1/chat/completions', DIALECTS.openai.body('gpt-4o-mini'));
  assertDialectError('openai', o, 404, 'not_found_error');
  assert.equal(gw.totalUpstreamRequests(), 0);
});

test('routed models still work in this gateway', async () => {
  const a = await gw.post('/v1/messages', DIALECTS.anthropic.body('claude-sonnet-4-5'));
  assert.equal(a.status, 200, a.text);
  const o = await gw.post('/v1/chat/completions', DIALECTS.openai.body('gpt-4o'));
  assert.equal(o.status, 200, o.text);
});

test('unknown path -> 404 JSON', async () => {
  for (const [method, p] of [['GET', '/nope'], ['POST', '/v1/unknown'], ['GET', '/v1/messagesx']]) {
    const r = await gw.request(method, p, method === 'POST' ? { body: {} } : {});
    assert.equal(r.status, 404, `${method} ${p}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /^application\/json/, `${method} ${p}`);
    r.json();
  }
});
