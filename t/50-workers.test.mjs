// Two worker processes under concurrent load, store writes and a reload:
// every request succeeds and reaches the right provider with the right model.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startGateway, sleep } from './lib/gateway.mjs';
import { DIALECTS } from './lib/dialects.mjs';
import { anthropicEvents, openaiChunks } from '../scripts/mock-provider.mjs';

let gw;

before(async () => {
  gw = await startGateway({ label: 'workers', workers: 2, keys: ['alice', 'bob'] });
});

after(async () => { await gw?.stop(); });

test('the master runs 2 worker processes', () => {
  assert.equal(gw.workerPids().length, 2);
});

test('20 concurrent requests (both dialects, stream and not, both keys) all succeed', async () => {
  // Streams pause mid-way so that many requests are in flight at once.
  gw.mocks.openai.setDefault((req) => (req.body?.stream
    ? { type: 'sse', events: openaiChunks({ model: req.body.model, text: `reply ${req.body.messages[0].content}` })
      .map((e, i) => (i === 1 ? { ...e, delayMs: 150 } : e)) }
    : { type: 'demo' }));
  gw.mocks.anthropic.setDefault((req) => (req.body?.stream
    ? { type: 'sse', events: anthropicEvents({ model: req.body.model, text: `reply ${req.body.messages[0].content}` })
      .map((e, i) => (i === 1 ? { ...e, delayMs: 150 } : e)) }
    : { type: 'demo' }));

  const jobs = Array.from({ length: 20 }, (_, i) => {
    const dialect = i % 2 ? 'openai' : 'anthropic';
    const stream = i % 4 >= 2;
    const d = DIALECTS[dialect];
    const body = d.body(d.model, { messages: [{ role: 'user', content: `n${i}` }], ...(stream ? { stream: true } : {}) });
    const opts = { key: (i % 3 ? gw.keys.alice : gw.keys.bob).key, auth: i % 5 ? 'x-api-key' : 'bearer' };
    return { i, dialect, stream, run: stream ? gw.stream(d.path, body, opts) : gw.post(d.path, body, opts) };
  });
  const results = await Promise.all(jobs.map((j) => j.run));

  for (const [n, r] of results.entries()) {
    const { dialect, stream, i } = jobs[n];
    assert.equal(r.status, 200, `request ${i}: ${r.text.slice(0, 200)}`);
    if (stream) {
      const text = dialect === 'openai'
        ? r.events.filter((e) => e.json?.choices?.length).map((e) => e.json.choices[0].delta.content ?? '').join('')
        : r.events.filter((e) => e.json?.delta?.type === 'text_delta').map((e) => e.json.delta.text).join('');
      assert.match(text, new RegExp(`reply n${i}\\b`), `request ${i} got its own stream`);
    } else {
      assert.match(JSON.stringify(r.json()), /llmproxy demo provider/);
    }
  }
  assert.equal(gw.mocks.openai.requests.length, 10);
  assert.equal(gw.mocks.anthropic.requests.length, 10);
  assert.ok(gw.mocks.openai.requests.every((r) => r.body.model === 'gpt-mock'));
  assert.ok(gw.mocks.anthropic.requests.every((r) => r.body.model === 'claude-real'));
});

test('ctl writes while requests are in flight: no request fails, new keys work at once', async () => {
  gw.mocks.openai.setDefault({ type: 'demo' });
  gw.mocks.anthropic.setDefault({ type: 'demo' });
  const d = DIALECTS.openai;
  let stop = false;
  const statuses = [];
  const load = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const r = await gw.post(d.path, d.body(), { key: gw.keys.alice.key });
      statuses.push(r.status);
    }
  });
  const created = [];
  for (let i = 0; i < 8; i++) {
    const k = await gw.createKey(`churn${i}`);
    created.push(k);
    await gw.ctlOk('route', 'set', `churn-model-${i}`, 'mockoai/gpt-mock');
    const r = await gw.post(d.path, d.body(`churn-model-${i}`), { key: k.key });
    assert.equal(r.status, 200, r.text);
  }
  stop = true;
  await Promise.all(load);
  assert.ok(statuses.length >= 8, `background requests: ${statuses.length}`);
  assert.deepEqual([...new Set(statuses)], [200]);
});

test('reload (SIGHUP): a stream open across it completes, new workers serve with the store', async () => {
  const d = DIALECTS.anthropic;
  const events = anthropicEvents({ model: 'claude-real', text: 'across the reload' });
  events[3] = { ...events[3], delayMs: 1200 };
  gw.mocks.anthropic.enqueue({ type: 'sse', events });
  const n = gw.mocks.anthropic.requests.length;
  const streaming = gw.stream(d.path, d.body(d.model, { stream: true }));
  await gw.mocks.anthropic.waitForRequests(n + 1);
  const oldWorkers = gw.workerPids();
  process.kill(gw.nginx.pid, 'SIGHUP');
  let fresh = [];
  for (let i = 0; i < 100; i++) {
    fresh = gw.workerPids().filter((p) => !oldWorkers.includes(p));
    if (fresh.length >= 2) break;
    await sleep(50);
  }
  assert.equal(fresh.length, 2, 'two new workers after the reload');
  const k = await gw.createKey('after-reload');
  const results = await Promise.all(Array.from({ length: 6 }, () => gw.post(d.path, d.body(), { key: k.key })));
  for (const r of results) assert.equal(r.status, 200, r.text);
  const s = await streaming;
  assert.equal(s.status, 200);
  assert.deepEqual(s.events.map((e) => e.event), events.map((e) => e.event), 'the old worker finished its stream');
});
