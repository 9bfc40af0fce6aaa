// Circuit breaker half-open probes across two workers (llmproxy_zone, open
// time shortened with llmproxy_breaker open=2s): while open nobody touches
// the primary; once half-open exactly one of many concurrent requests is the
// probe; a failed probe reopens for twice as long; a successful one closes
// the breaker and traffic returns to the primary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { startGateway, sleep, freePort, httpRequest } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';
import { providerErrorScenario } from '../scripts/mock-provider.mjs';

let gw;
const ANT = DIALECTS.anthropic;
const OPEN_MS = 2000;
const LOG_FIELDS = ['pid', 'route', 'provider', 'model', 'attempts', 'status'];

// probe.log holds the inference requests only: a status request's line is
// written after its response, so it could land inside the next burst's slice.
// Bursts go to a second listener with reuseport: the kernel spreads its
// connections over both workers' sockets (on the shared socket one worker
// may well accept a whole burst).
let spreadPort;

before(async () => {
  spreadPort = await freePort();
  gw = await startGateway({ label: 'probe', workers: 2,
    extraHttp: `llmproxy_zone llmproxy 4m;
    llmproxy_breaker open=${OPEN_MS}ms;
    log_format llmproxy_probe '$pid|$llmproxy_route|$llmproxy_provider|$llmproxy_model|$llmproxy_attempts|$status';`,
    extraServer: `listen 127.0.0.1:${spreadPort} reuseport;
        access_log __DIR__/probe.log llmproxy_probe;
        location = /llmproxy/status { llmproxy_status; allow 127.0.0.1; deny all; access_log off; }`,
    routes: [['fb-*', 'mockant/claude-primary,mockoai/gpt-fallback'],
      ['claude-*', 'mockant/claude-real'], ['default', 'mockoai/gpt-mock']] });
});

after(async () => { await gw?.stop(); });

async function primaryBreaker() {
  const r = await gw.request('GET', '/llmproxy/status', { auth: 'none' });
  assert.equal(r.status, 200, r.text);
  const t = r.json().targets.find((x) => x.provider === 'mockant' && x.model === 'claude-primary');
  assert.ok(t, 'status lists mockant/claude-primary');
  return t.breaker;
}

async function waitForState(state, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let b;
  while (performance.now() < deadline) {
    b = await primaryBreaker();
    if (b.state === state) return b;
    await sleep(50);
  }
  assert.fail(`breaker not ${state} within ${timeoutMs} ms: ${JSON.stringify(b)}`);
}

function logLines() {
  return readFileSync(path.join(gw.dir, 'probe.log'), 'utf8').trim().split('\n').filter(Boolean)
    .map((line) => Object.fromEntries(line.split('|').map((v, i) => [LOG_FIELDS[i], v])));
}

// n concurrent fb-model requests; returns the responses and the new upstream
// requests each mock saw.
async function burst(n) {
  const a = gw.mocks.anthropic.requests.length;
  const o = gw.mocks.openai.requests.length;
  const logBefore = logLines().length;
  const responses = await Promise.all(Array.from({ length: n }, () => httpRequest(
    `http://127.0.0.1:${spreadPort}${ANT.path}`,
    { method: 'POST', body: ANT.body('fb-model'), headers: gw.authHeaders(gw.keys.alice.key) })));
  await sleep(150);  // log lines are written after the responses
  return { responses, primary: gw.mocks.anthropic.requests.slice(a), fallback: gw.mocks.openai.requests.length - o,
    log: logLines().slice(logBefore) };
}

test('a failing primary opens the breaker after 5 failed attempts', async () => {
  gw.mocks.anthropic.setDefault(providerErrorScenario('anthropic', 529));
  const before = gw.mocks.anthropic.requests.length;
  for (let i = 0; i < 3; i++) {
    const r = await gw.post(ANT.path, ANT.body('fb-model'));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
  }
  assert.equal(gw.mocks.anthropic.requests.length - before, 5);
  const b = await primaryBreaker();
  assert.equal(b.state, 'open');
  assert.equal(b.opens, 1);
  assert.ok(b.open_remaining_ms > 0 && b.open_remaining_ms <= OPEN_MS, `open for ${b.open_remaining_ms} ms (open=${OPEN_MS}ms)`);
});

test('while open, concurrent requests go to the fallback without touching the primary', async () => {
  const { responses, primary, fallback } = await burst(10);
  for (const r of responses) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
  }
  assert.equal(primary.length, 0, 'no worker tried the open primary');
  assert.equal(fallback, 10);
});

test('half-open, the probe fails: exactly one request reaches the primary, the breaker reopens for twice as long', async () => {
  const half = await waitForState('half_open', OPEN_MS + 2000);
  assert.ok(!half.probe_in_flight, 'no probe claimed yet');
  // The probe is held 600 ms before failing, so the rest of the burst meets
  // a claimed probe.
  gw.mocks.anthropic.setDefault({ ...providerErrorScenario('anthropic', 529), headersDelayMs: 600 });
  const { responses, primary, fallback } = await burst(12);
  for (const r of responses) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
  }
  assert.equal(primary.length, 1, 'one probe, no retry of a failed probe');
  assert.equal(fallback, 12);
  const b = await primaryBreaker();
  assert.equal(b.state, 'open');
  assert.equal(b.opens, 2);
  assert.ok(b.open_remaining_ms > OPEN_MS && b.open_remaining_ms <= 2 * OPEN_MS,
    `a failed probe doubles the open time: ${b.open_remaining_ms} ms left`);
});

test('half-open across two workers: exactly one probe; it succeeds, the breaker closes, traffic returns', async () => {
  await waitForState('half_open', 2 * OPEN_MS + 2000);
  // The probe's success is held 800 ms so the whole burst is admitted while
  // the probe is in flight.
  gw.mocks.anthropic.setDefault({ type: 'demo', headersDelayMs: 800 });
  const { responses, primary, fallback, log } = await burst(16);
  for (const r of responses) assert.equal(r.status, 200, r.text);
  assert.equal(primary.length, 1, `exactly one probe reached the primary, got ${primary.length}`);
  assert.equal(primary[0].body.model, 'claude-primary');
  assert.equal(fallback, 15);
  const byProvider = responses.map((r) => r.headers['x-llmproxy-provider']).sort();
  assert.deepEqual(byProvider, ['mockant', ...Array(15).fill('mockoai')]);
  assert.equal(log.length, 16);
  const pids = new Set(log.map((l) => l.pid));
  assert.equal(pids.size, 2, `the burst was served by both workers (pids ${[...pids].join(', ')})`);
  assert.equal(log.filter((l) => l.provider === 'mockant').length, 1);

  const b = await primaryBreaker();
  assert.equal(b.state, 'closed');
  assert.equal(b.opens, 2);
  assert.ok(!b.probe_in_flight);

  gw.mocks.anthropic.setDefault({ type: 'demo' });
  const after = await burst(8);
  for (const r of after.responses) {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-llmproxy-provider'], 'mockant');
  }
  assert.equal(after.primary.length, 8);
  assert.equal(after.fallback, 0);
  assert.ok(after.log.every((l) => l.provider === 'mockant' && l.attempts === '1'), JSON.stringify(after.log));
});

test('a Retry-After longer than the open time keeps the breaker open that long', async () => {
  // 31 s is above the retry policy's 30 s wait limit: each failure moves on to
  // the fallback at once, and the breaker takes the hint as its open time.
  // The window still holds the successes since the close: the breaker opens at
  // the first failure that brings it to >= 5 attempts and >= 50% failures.
  const w = await primaryBreaker();
  assert.equal(w.state, 'closed');
  let failuresToOpen = 1;
  while (w.window_requests + failuresToOpen < 5
    || (w.window_failures + failuresToOpen) / (w.window_requests + failuresToOpen) < 0.5) failuresToOpen++;
  gw.mocks.anthropic.setDefault(providerErrorScenario('anthropic', 429, { retryAfter: 31 }));
  try {
    const before = gw.mocks.anthropic.requests.length;
    for (let i = 0; i < failuresToOpen + 1; i++) {
      const r = await gw.post(ANT.path, ANT.body('fb-model'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-llmproxy-provider'], 'mockoai');
    }
    assert.equal(gw.mocks.anthropic.requests.length - before, failuresToOpen,
      `open after ${failuresToOpen} failed attempts (window had ${w.window_requests}), the next one skipped`);
    const b = await primaryBreaker();
    assert.equal(b.state, 'open');
    assert.equal(b.opens, 3);
    assert.ok(b.open_remaining_ms > 29000 && b.open_remaining_ms <= 31000,
      `open for the Retry-After, not open=${OPEN_MS}ms: ${b.open_remaining_ms} ms left`);
  } finally {
    gw.mocks.anthropic.setDefault({ type: 'demo' });
  }
});
