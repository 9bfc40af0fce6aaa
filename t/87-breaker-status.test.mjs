// Circuit breakers shared by all workers (llmproxy_zone), the status endpoint
// (JSON and Prometheus), and the accounting variables in the access log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { startGateway, sleep } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';
import { providerErrorScenario } from '../scripts/mock-provider.mjs';

let gw;
const ANT = DIALECTS.anthropic;
const LOG_FIELDS = ['key_id', 'route', 'provider', 'model', 'attempts', 'upstream_status', 'input_tokens',
  'output_tokens', 'status'];

before(async () => {
  gw = await startGateway({ label: 'breaker', workers: 2,
    extraHttp: `llmproxy_zone llmproxy 4m;
    log_format llmproxy_test '$llmproxy_key_id|$llmproxy_route|$llmproxy_provider|$llmproxy_model|$llmproxy_attempts|'
                             '$llmproxy_upstream_status|$llmproxy_input_tokens|$llmproxy_output_tokens|$status';`,
    extraServer: `access_log __DIR__/llmproxy.log llmproxy_test;
        location = /llmproxy/status { llmproxy_status; allow 127.0.0.1; deny all; }`,
    routes: [['fb-*', 'mockant/claude-primary,mockoai/gpt-fallback'], ['last-*', 'mockoai/gpt-first,mockant/claude-primary'],
      ['claude-*', 'mockant/claude-real'], ['default', 'mockoai/gpt-mock']] });
});

after(async () => { await gw?.stop(); });

async function status() {
  const r = await gw.request('GET', '/llmproxy/status', { auth: 'none' });
  assert.equal(r.status, 200, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  return r.json();
}

function target(snapshot, provider, model) {
  const t = snapshot.targets.find((x) => x.provider === provider && x.model === model);
  assert.ok(t, `status lists ${provider}/${model}`);
  return t;
}

function accessLog() {
  return readFileSync(path.join(gw.dir, 'llmproxy.log'), 'utf8').trim().split('\n').filter(Boolean)
    .map((line) => Object.fromEntries(line.split('|').map((v, i) => [LOG_FIELDS[i], v])));
}

test('accounting variables in the access log', async () => {
  const r = await gw.post(ANT.path, ANT.body('claude-sonnet-4-5'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-llmproxy-route'], 'claude-*');
  await sleep(100);  // the log line is written after the response
  const line = accessLog().at(-1);
  assert.deepEqual(line, { key_id: gw.keys.alice.id, route: 'claude-*', provider: 'mockant', model: 'claude-real',
    attempts: '1', upstream_status: '200', input_tokens: '11', output_tokens: '7', status: '200' });
});

test('a failing primary opens its breaker; later requests skip it, in every worker', async () => {
  gw.mocks.anthropic.setDefault(providerErrorScenario('anthropic', 529));
  try {
    const before = gw.mocks.anthropic.requests.length;
    for (let i = 0; i < 3; i++) {
      const r = await gw.post(ANT.path, ANT.body('fb-model'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
    }
    assert.equal(gw.mocks.anthropic.requests.length - before, 5, 'the breaker opened at 5 failed attempts');
    const s = target(await status(), 'mockant', 'claude-primary');
    assert.equal(s.breaker.state, 'open');
    assert.equal(s.breaker.opens, 1);
    assert.ok(s.breaker.open_remaining_ms > 0 && s.breaker.open_remaining_ms <= 30000);
    assert.equal(s.failures, 5);

    const n = gw.mocks.anthropic.requests.length;
    const burst = await Promise.all(Array.from({ length: 10 }, () => gw.post(ANT.path, ANT.body('fb-model'))));
    for (const r of burst) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
    }
    assert.equal(gw.mocks.anthropic.requests.length, n, 'no worker tried the open primary');
    const log = accessLog().filter((l) => l.route === 'fb-*').slice(-10);
    assert.ok(log.every((l) => l.provider === 'mockoai' && l.model === 'gpt-fallback' && l.status === '200'));
  } finally {
    gw.mocks.anthropic.setDefault({ type: 'demo' });
  }
});

test('the last target of a route is tried even with its breaker open', async () => {
  gw.mocks.openai.setDefault(providerErrorScenario('openai', 503));
  try {
    assert.equal(target(await status(), 'mockant', 'claude-primary').breaker.state, 'open');
    const n = gw.mocks.anthropic.requests.length;
    const r = await gw.post(ANT.path, ANT.body('last-model'));
    assert.ok(gw.mocks.anthropic.requests.length > n, 'the last target was attempted');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockant');
  } finally {
    gw.mocks.openai.setDefault({ type: 'demo' });
  }
});

test('Prometheus text format', async () => {
  const r = await gw.request('GET', '/llmproxy/status?format=prometheus', { auth: 'none' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const lines = r.text.trim().split('\n');
  for (const line of lines) {
    if (line.startsWith('#')) {
      assert.match(line, /^# (HELP|TYPE) llmproxy_[a-z_]+ .+$/, line);
    } else {
      assert.match(line, /^llmproxy_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.eE+-]+$/, line);
    }
  }
  assert.ok(lines.includes('llmproxy_breaker_opens_total{provider="mockant",model="claude-primary"} 1'), r.text);
});

test('breaker state survives a reload', async () => {
  const old = gw.workerPids();
  process.kill(gw.nginx.pid, 'SIGHUP');
  for (let i = 0; i < 100 && gw.workerPids().filter((p) => !old.includes(p)).length < 2; i++) await sleep(50);
  await sleep(200);
  const s = target(await status(), 'mockant', 'claude-primary');
  assert.equal(s.breaker.state, 'open');
  const n = gw.mocks.anthropic.requests.length;
  const r = await gw.post(ANT.path, ANT.body('fb-model'));
  assert.equal(r.status, 200);
  assert.equal(gw.mocks.anthropic.requests.length, n, 'still skipped after the reload');
});
